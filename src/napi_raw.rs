//! Raw napi value conversions shared by the bindings (numbers, booleans, undefined, arrays of
//! numbers). Each is one or two N-API calls with no type checks: the JS layer validates first.

use async_shape_core::panic_message;
use napi::sys;
use std::ptr;

pub(crate) unsafe fn f64_of(env: sys::napi_env, v: sys::napi_value) -> f64 {
  let mut out = 0.0;
  sys::napi_get_value_double(env, v, &mut out);
  out
}

pub(crate) unsafe fn i32_of(env: sys::napi_env, v: sys::napi_value) -> i32 {
  let mut out = 0;
  sys::napi_get_value_int32(env, v, &mut out);
  out
}

pub(crate) unsafe fn u32_of(env: sys::napi_env, v: sys::napi_value) -> u32 {
  let mut out = 0u32;
  sys::napi_get_value_uint32(env, v, &mut out);
  out
}

pub(crate) unsafe fn num(env: sys::napi_env, v: f64) -> sys::napi_value {
  let mut out = ptr::null_mut();
  sys::napi_create_double(env, v, &mut out);
  out
}

pub(crate) unsafe fn boolean(env: sys::napi_env, v: bool) -> sys::napi_value {
  let mut out = ptr::null_mut();
  sys::napi_get_boolean(env, v, &mut out);
  out
}

pub(crate) unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
  let mut out = ptr::null_mut();
  sys::napi_get_undefined(env, &mut out);
  out
}

pub(crate) unsafe fn is_undefined(env: sys::napi_env, v: sys::napi_value) -> bool {
  let mut t = 0;
  sys::napi_typeof(env, v, &mut t);
  t == sys::ValueType::napi_undefined
}

/// A JS array of numbers.
pub(crate) unsafe fn numbers(env: sys::napi_env, items: impl ExactSizeIterator<Item = f64>) -> sys::napi_value {
  let mut arr = ptr::null_mut();
  sys::napi_create_array_with_length(env, items.len(), &mut arr);
  for (i, v) in items.enumerate() {
    sys::napi_set_element(env, arr, i as u32, num(env, v));
  }
  arr
}

/// Runs the body of a raw `extern "C"` napi callback: a panic (a bug: the JS layer validates
/// first) becomes a thrown JS Error instead of unwinding into Node, which would abort the process.
///
/// # Safety
/// `env` is the env of the callback being run, on its JS thread.
pub(crate) unsafe fn guarded(env: sys::napi_env, f: impl FnOnce() -> sys::napi_value) -> sys::napi_value {
  match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
    Ok(v) => v,
    Err(payload) => {
      let message = format!("async-shape: internal error: {}", panic_message(&*payload));
      let message = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
      let mut pending = false;
      sys::napi_is_exception_pending(env, &mut pending);
      if !pending {
        sys::napi_throw_error(env, ptr::null(), message.as_ptr());
      }
      ptr::null_mut()
    }
  }
}

/// Runs the body of a libuv callback or other native entry with no JS caller to throw to: a
/// panic is reported on stderr and swallowed (unwinding into C would abort the process).
pub(crate) fn contained(what: &str, f: impl FnOnce()) {
  if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
    eprintln!("async-shape: internal error in {what}: {}", panic_message(&*payload));
  }
}
