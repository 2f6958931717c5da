//! Every raw `napi::sys` helper the rooms share: checked statuses, value conversion, argument
//! reading, errors, panic containment and the method-table builder. The rooms' hot paths call
//! N-API through these (one or two N-API calls each, no allocation), never through napi-rs's
//! per-call machinery.
//!
//! Statuses come in two kinds:
//! - An N-API call that no user value or user JS can make fail (reading a number the JS layer
//!   validated, making a number): a failure is a bug in async-shape, and [`check`] turns it into
//!   a panic, which [`guarded`] turns into a thrown `Error` ("async-shape: internal error: ...")
//!   instead of a wrong result.
//! - An N-API call that may run user JS: calling a function, settling or making a promise
//!   (async_hooks and `v8.promiseHooks` hooks run synchronously inside them), or a property set
//!   that can reach a setter. Its failure is the user's exception (or JS no longer running, as
//!   while a worker terminates): [`js_check`] returns `Err(Thrown)`, the caller leaves its state
//!   consistent and returns null, and the exception propagates to the JS caller. Such failures
//!   must never panic: the panic hook would print to the user's stderr. A loop that must run to
//!   its end whatever JS does (settling every gate it took) holds the first exception in a
//!   [`FirstThrow`] and throws it at the end.
//!
//! Result objects and arrays are made of own data properties ([`array`], [`numbers`],
//! [`define`]: `napi_define_properties`), which no setter on a prototype can intercept.
//!
//! Nothing here ignores a status.
//!
//! # Safety (for every `unsafe fn` here)
//! `env` is the env of the N-API call or callback being run, on its JS thread, and every
//! `napi_value` passed in belongs to that call's handle scope. That is all N-API asks.

use async_shape_core::panic_message;
use napi::sys;
use std::ffi::{c_char, c_void, CStr};
use std::ptr;

/// A raw N-API function callback.
pub(crate) type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Panics (a thrown Error under [`guarded`]) unless `status` is `napi_ok`. Only for N-API calls
/// whose failure no user value and no user JS (a setter, an async_hooks or promise hook, a
/// called function) can cause: a wrong handle or type, a bug. Anything that may run user JS goes
/// through [`js_check`].
#[track_caller]
pub(crate) fn check(status: sys::napi_status, what: &str) {
  assert!(status == sys::Status::napi_ok, "{what} failed with N-API status {status}");
}

/// A JS exception is pending (user JS threw inside an N-API call), or JS can no longer run (the
/// env is terminating): the raw entry returns null, and the exception, if any, propagates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thrown;

/// The result of a step that may run user JS.
pub(crate) type JsResult<T> = Result<T, Thrown>;

/// Whether a JS exception is pending.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn exception_pending(env: sys::napi_env) -> bool {
  let mut pending = false;
  // SAFETY: the module's contract; `pending` is a valid place for the result.
  let status = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
  status == sys::Status::napi_ok && pending
}

/// The status of an N-API call that may run user JS (or fail because an exception is pending):
/// `Err(Thrown)` when the call failed because JS threw or cannot run; a panic (a bug, as
/// [`check`]) for any other failure.
///
/// # Safety
/// See the module's safety note.
#[track_caller]
pub(crate) unsafe fn js_check(env: sys::napi_env, status: sys::napi_status, what: &str) -> JsResult<()> {
  if status == sys::Status::napi_ok {
    return Ok(());
  }
  // Node reports "JS cannot run" (a terminating env) as `napi_pending_exception` before N-API 10
  // and as `napi_cannot_run_js` from it; a throw may also come back as `napi_generic_failure`
  // with the exception pending (a settled promise whose hook threw).
  let js_stopped = status == sys::Status::napi_pending_exception || status == sys::Status::napi_cannot_run_js;
  // SAFETY: the module's contract.
  if js_stopped || unsafe { exception_pending(env) } {
    return Err(Thrown);
  }
  check(status, what);
  Ok(())
}

/// The first exception of a loop that must run to its end whatever JS throws (every gate it took
/// must be settled): each failed step's exception is taken (so that the next N-API call runs) and
/// the first one is thrown again by [`FirstThrow::finish`].
pub(crate) struct FirstThrow {
  first: Option<sys::napi_value>,
  failed: bool,
}

impl FirstThrow {
  pub(crate) fn new() -> Self {
    FirstThrow { first: None, failed: false }
  }

  /// Records one step's outcome: on `Err`, takes the pending exception (the first is kept).
  ///
  /// # Safety
  /// See the module's safety note.
  pub(crate) unsafe fn step<T>(&mut self, env: sys::napi_env, result: JsResult<T>) -> Option<T> {
    match result {
      Ok(v) => Some(v),
      Err(Thrown) => {
        self.failed = true;
        // SAFETY: the module's contract.
        if unsafe { exception_pending(env) } {
          let mut exception = ptr::null_mut();
          // SAFETY: the module's contract; `exception` is a valid place for the result. It
          // cannot fail with an exception pending (it takes no JS).
          check(
            unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) },
            "napi_get_and_clear_last_exception",
          );
          self.first.get_or_insert(exception);
        }
        None
      }
    }
  }

  /// Throws the first exception again: `Err(Thrown)` if any step failed.
  ///
  /// # Safety
  /// See the module's safety note; `self` was filled in this call.
  pub(crate) unsafe fn finish(self, env: sys::napi_env) -> JsResult<()> {
    if let Some(exception) = self.first {
      // SAFETY: the module's contract; `exception` is a value of this call's scope. It fails only
      // when JS can no longer run: nobody is left to tell, and the entry returns null anyway.
      let _ = unsafe { sys::napi_throw(env, exception) };
    }
    if self.failed {
      Err(Thrown)
    } else {
      Ok(())
    }
  }
}

/// The number in `v` (the JS layer passes numbers only).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn f64_of(env: sys::napi_env, v: sys::napi_value) -> f64 {
  let mut out = 0.0;
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_get_value_double(env, v, &mut out) }, "napi_get_value_double");
  out
}

/// The number in `v` as an i32 (N-API's conversion: truncated, NaN and ±Infinity read 0).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn i32_of(env: sys::napi_env, v: sys::napi_value) -> i32 {
  let mut out = 0;
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_get_value_int32(env, v, &mut out) }, "napi_get_value_int32");
  out
}

/// The number in `v` as a u32 (N-API's conversion, modulo 2^32).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn u32_of(env: sys::napi_env, v: sys::napi_value) -> u32 {
  let mut out = 0u32;
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_get_value_uint32(env, v, &mut out) }, "napi_get_value_uint32");
  out
}

/// A JS number.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn num(env: sys::napi_env, v: f64) -> sys::napi_value {
  let mut out = ptr::null_mut();
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_create_double(env, v, &mut out) }, "napi_create_double");
  out
}

/// A JS boolean.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn boolean(env: sys::napi_env, v: bool) -> sys::napi_value {
  let mut out = ptr::null_mut();
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_get_boolean(env, v, &mut out) }, "napi_get_boolean");
  out
}

/// The boolean in `v`, or `None` when `v` is not a boolean.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn bool_of(env: sys::napi_env, v: sys::napi_value) -> Option<bool> {
  let mut out = false;
  // SAFETY: the module's contract; `out` is a valid place for the result. A value that is not a
  // boolean is `napi_boolean_expected`, and nothing is thrown.
  let status = unsafe { sys::napi_get_value_bool(env, v, &mut out) };
  (status == sys::Status::napi_ok).then_some(out)
}

/// `undefined`.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
  let mut out = ptr::null_mut();
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_get_undefined(env, &mut out) }, "napi_get_undefined");
  out
}

/// Whether `v` is `undefined`.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn is_undefined(env: sys::napi_env, v: sys::napi_value) -> bool {
  let mut t = 0;
  // SAFETY: the module's contract; `t` is a valid place for the result.
  check(unsafe { sys::napi_typeof(env, v, &mut t) }, "napi_typeof");
  t == sys::ValueType::napi_undefined
}

/// A new empty JS object.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn object(env: sys::napi_env) -> sys::napi_value {
  let mut out = ptr::null_mut();
  // SAFETY: the module's contract; `out` is a valid place for the result.
  check(unsafe { sys::napi_create_object(env, &mut out) }, "napi_create_object");
  out
}

/// Defines `obj[name] = value` for each pair, as own enumerable, writable, configurable data
/// properties (`napi_define_properties`, as an object literal does): no setter on the prototype
/// chain runs, so on a fresh object this runs no JS. Fails only when an exception is pending or JS
/// cannot run (`Err(Thrown)`), or on a bug (a panic).
///
/// # Safety
/// See the module's safety note; `obj` is an object.
pub(crate) unsafe fn define(
  env: sys::napi_env,
  obj: sys::napi_value,
  fields: &[(&CStr, sys::napi_value)],
) -> JsResult<()> {
  let descriptors: Vec<_> = fields.iter().map(|&(name, value)| data_property(name.as_ptr(), value)).collect();
  // SAFETY: the module's contract; each descriptor names a NUL-terminated string that outlives
  // the call and a value of this scope.
  let status = unsafe { sys::napi_define_properties(env, obj, descriptors.len(), descriptors.as_ptr()) };
  // SAFETY: the module's contract.
  unsafe { js_check(env, status, "napi_define_properties") }
}

/// An own enumerable, writable, configurable data property (what `CreateDataProperty` makes).
fn data_property(name: *const c_char, value: sys::napi_value) -> sys::napi_property_descriptor {
  use sys::PropertyAttributes::{configurable, enumerable, writable};
  sys::napi_property_descriptor {
    utf8name: name,
    name: ptr::null_mut(),
    method: None,
    getter: None,
    setter: None,
    value,
    attributes: writable | enumerable | configurable,
    data: ptr::null_mut(),
  }
}

/// A JS array of `values`, made of own data properties (`napi_define_properties` with the index
/// names): unlike `napi_set_element`, no setter on `Array.prototype` can intercept it, so it runs
/// no JS. For short, cold answers (an adaptive pool's history); lists of numbers are
/// [`numbers`]. Fails as [`define`].
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn array(env: sys::napi_env, values: &[sys::napi_value]) -> JsResult<sys::napi_value> {
  let mut arr = ptr::null_mut();
  // SAFETY: the module's contract; `arr` is a valid place for the result.
  check(unsafe { sys::napi_create_array_with_length(env, values.len(), &mut arr) }, "napi_create_array_with_length");
  let names: Vec<std::ffi::CString> =
    (0..values.len()).map(|i| std::ffi::CString::new(i.to_string()).expect("a decimal index has no NUL")).collect();
  let descriptors: Vec<_> =
    names.iter().zip(values).map(|(name, &value)| data_property(name.as_ptr(), value)).collect();
  // SAFETY: the module's contract; each descriptor names a NUL-terminated string of `names`,
  // alive until the end of this function, and a value of this scope.
  let status = unsafe { sys::napi_define_properties(env, arr, descriptors.len(), descriptors.as_ptr()) };
  // SAFETY: the module's contract.
  unsafe { js_check(env, status, "napi_define_properties") }?;
  Ok(arr)
}

/// A new promise and its deferred (`napi_create_promise`). `Err` when a promise hook threw: V8
/// reports that exception as uncaught and may still have made the promise, which nobody holds and
/// nothing reacts to; it is then resolved so that its deferred is freed, and the exception is
/// thrown again. May run JS (async_hooks and promise `init` hooks): call with no borrow held.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn new_promise(env: sys::napi_env) -> JsResult<(sys::napi_deferred, sys::napi_value)> {
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  // SAFETY: the module's contract; both are valid places for the results.
  let status = unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) };
  // SAFETY: the module's contract.
  let made = unsafe { js_check(env, status, "napi_create_promise") };
  if made.is_err() && !deferred.is_null() {
    let mut first = FirstThrow::new();
    // SAFETY: the module's contract; the deferred was just made and is settled once, here.
    unsafe {
      first.step(env, made);
      let resolved = js_check(env, sys::napi_resolve_deferred(env, deferred, undefined(env)), "napi_resolve_deferred");
      first.step(env, resolved);
      first.finish(env)?;
    }
  }
  made.map(|()| (deferred, promise))
}

/// A `Float64Array` of `items`: one allocation and one copy, whatever the length, and no JS runs
/// (a typed array's elements are not properties a prototype setter can intercept). Its consumers
/// iterate or index it, as they would an array.
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn numbers(
  env: sys::napi_env,
  items: impl ExactSizeIterator<Item = f64>,
) -> JsResult<sys::napi_value> {
  let len = items.len();
  let mut data: *mut c_void = ptr::null_mut();
  let mut buffer = ptr::null_mut();
  let bytes = len.checked_mul(std::mem::size_of::<f64>()).expect("a list of numbers too long for memory");
  // SAFETY: the module's contract; `data` and `buffer` are valid places for the results.
  check(unsafe { sys::napi_create_arraybuffer(env, bytes, &mut data, &mut buffer) }, "napi_create_arraybuffer");
  let base = data.cast::<f64>();
  for (i, v) in items.take(len).enumerate() {
    // SAFETY: N-API just allocated `bytes` = `len` × 8 bytes at `data` for this buffer (non-null
    // when `len` > 0, else this loop does not run) and nothing else refers to them yet; `i` <
    // `len`, and the write is unaligned, so no alignment of the backing store is assumed.
    unsafe { base.add(i).write_unaligned(v) };
  }
  let mut array = ptr::null_mut();
  // SAFETY: the module's contract; `buffer` is the array buffer just made, `len` elements of 8
  // bytes fit in it from offset 0.
  let status =
    unsafe { sys::napi_create_typedarray(env, sys::TypedarrayType::float64_array, len, buffer, 0, &mut array) };
  check(status, "napi_create_typedarray");
  Ok(array)
}

/// The arguments and callback data of one call of a raw function.
pub(crate) struct CallInfo<const N: usize> {
  /// The first `N` arguments; missing ones are `undefined`.
  pub argv: [sys::napi_value; N],
  /// How many arguments the caller passed (may exceed `N`).
  pub argc: usize,
  /// The data the function was created with (see [`method_table`]).
  pub data: *mut c_void,
}

/// Reads the first `N` arguments of a call and its function's data.
///
/// # Safety
/// See the module's safety note; `info` is the callback info of the call being run.
pub(crate) unsafe fn call_info<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> CallInfo<N> {
  let mut argv = [ptr::null_mut(); N];
  let mut argc = N;
  let mut data: *mut c_void = ptr::null_mut();
  // SAFETY: the module's contract; `argv` has room for `argc` (= N) values, and N-API fills the
  // slots past the passed arguments with `undefined`.
  let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
  check(status, "napi_get_cb_info");
  CallInfo { argv, argc, data }
}

/// The first `N` arguments as numbers (the JS layer passes numbers only; missing ones read 0).
///
/// # Safety
/// See [`call_info`].
pub(crate) unsafe fn numbers_of<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> [f64; N] {
  // SAFETY: the caller's contract is `call_info`'s.
  let call = unsafe { call_info::<N>(env, info) };
  let mut out = [0.0; N];
  for (o, v) in out.iter_mut().zip(call.argv).take(call.argc.min(N)) {
    // SAFETY: `v` is one of this call's arguments.
    *o = unsafe { f64_of(env, v) };
  }
  out
}

/// Throws a `TypeError` with `message` and returns null (the value of a callback that threw).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn throw_type_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
  // SAFETY: the module's contract; `message` is NUL-terminated and outlives the call.
  check(unsafe { sys::napi_throw_type_error(env, ptr::null(), message.as_ptr()) }, "napi_throw_type_error");
  ptr::null_mut()
}

/// Throws a `RangeError` with `message` and returns null (the value of a callback that threw).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn throw_range_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
  // SAFETY: the module's contract; `message` is NUL-terminated and outlives the call.
  check(unsafe { sys::napi_throw_range_error(env, ptr::null(), message.as_ptr()) }, "napi_throw_range_error");
  ptr::null_mut()
}

/// A failed N-API status as napi-rs's `Err` (thrown by a `#[napi]` export), for the exports that
/// return `napi::Result`, where an error fits better than [`check`]'s panic.
pub(crate) fn status(s: sys::napi_status, what: &str) -> napi::Result<()> {
  if s == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::from_reason(format!("async-shape: {what} failed (napi status {s})")))
  }
}

/// Throws an `Error` with `message` and returns null (the value of a callback that threw).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn throw_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
  // SAFETY: the module's contract; `message` is NUL-terminated and outlives the call.
  check(unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) }, "napi_throw_error");
  ptr::null_mut()
}

/// Runs the body of a raw `extern "C"` napi callback: a panic (a bug: the JS layer validates
/// first) becomes a thrown JS Error instead of unwinding into Node, which would abort the process.
/// The default panic hook still prints the panic on stderr (a process-wide hook is not this
/// library's to replace), so nothing a user can cause may panic: user JS that throws inside an
/// N-API call is a [`Thrown`], not a panic (see the module's note on statuses).
///
/// # Safety
/// See the module's safety note.
pub(crate) unsafe fn guarded(env: sys::napi_env, f: impl FnOnce() -> sys::napi_value) -> sys::napi_value {
  match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
    Ok(v) => v,
    Err(payload) => {
      let message = format!("async-shape: internal error: {}", panic_message(&*payload));
      let message = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
      let mut pending = false;
      // SAFETY: the module's contract. No `check` here: a panic now would unwind into Node; if
      // N-API cannot say, throwing may fail too, and null is still a callback's error value.
      unsafe {
        if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && !pending {
          sys::napi_throw_error(env, ptr::null(), message.as_ptr());
        }
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

/// Declares raw entry points: `name => body` makes `unsafe extern "C" fn name(env, info)` that
/// runs `unsafe fn body(env, info) -> napi_value` under [`guarded`].
macro_rules! raw_entries {
  ($($name:ident => $body:ident),* $(,)?) => {
    $(
      unsafe extern "C" fn $name(
        env: napi::sys::napi_env,
        info: napi::sys::napi_callback_info,
      ) -> napi::sys::napi_value {
        // SAFETY: N-API calls this on the JS thread with this callback's env and info, which is
        // the contract of every body (see `napi_raw`).
        unsafe { $crate::napi_raw::guarded(env, || $body(env, info)) }
      }
    )*
  };
}
pub(crate) use raw_entries;

/// What one function of a method table carries as data: a pointer owned by the function, and
/// how to free it (by N-API's finalizer once the function is collected, or by the builder if the
/// function could not be made).
pub(crate) struct FunctionData {
  pub data: *mut c_void,
  pub finalize: sys::napi_finalize,
  /// Frees `data` when no function was made with it.
  pub free: unsafe fn(*mut c_void),
}

/// Makes a plain object of raw functions: `{name: function}` for each of `methods`. `data()` is
/// called once per function; `None` means no data. On failure every data of a function not made
/// is freed, and the error names what failed (N-API fails here only when out of memory or while
/// the environment shuts down).
///
/// # Safety
/// See the module's safety note. Each `FunctionData::finalize` must free its `data` exactly once
/// and each `free` must free `data` made for it.
pub(crate) unsafe fn method_table(
  env: sys::napi_env,
  methods: &[(&CStr, Callback)],
  mut data: impl FnMut() -> Option<FunctionData>,
) -> Result<sys::napi_value, &'static str> {
  let mut obj = ptr::null_mut();
  // SAFETY: the module's contract; `obj` is a valid place for the result.
  if unsafe { sys::napi_create_object(env, &mut obj) } != sys::Status::napi_ok {
    return Err("create an object");
  }
  for (name, cb) in methods {
    let d = data();
    let raw = d.as_ref().map_or(ptr::null_mut(), |d| d.data);
    let mut f = ptr::null_mut();
    // SAFETY: the module's contract; `name` is NUL-terminated (length -1) and outlives the call;
    // `cb` is a raw callback of the right type.
    let status = unsafe { sys::napi_create_function(env, name.as_ptr(), -1, Some(*cb), raw, &mut f) };
    if status != sys::Status::napi_ok {
      if let Some(d) = d {
        // SAFETY: no function was made with `d.data`: this is its only owner.
        unsafe { (d.free)(d.data) };
      }
      return Err("create a function");
    }
    if let Some(d) = d {
      // SAFETY: the module's contract; `f` is the function just made, and `d.finalize` frees
      // `d.data` once, after `f` can no longer run.
      let status = unsafe { sys::napi_add_finalizer(env, f, d.data, d.finalize, ptr::null_mut(), ptr::null_mut()) };
      if status != sys::Status::napi_ok {
        // `f` is unreachable but may still be alive: its data must outlive it, so it leaks (in a
        // path N-API never takes for a fresh function).
        return Err("attach a function's finalizer");
      }
    }
    // SAFETY: the module's contract; `obj` is the plain object made above. An own data property:
    // no setter on `Object.prototype` runs.
    if unsafe { define(env, obj, &[(name, f)]) }.is_err() {
      return Err("set a method");
    }
  }
  Ok(obj)
}
