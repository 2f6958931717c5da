//! napi glue for the combinators: groups live in a thread-local slab (each JS thread has its
//! own) and JS holds an integer handle. The functions are shared, raw `napi::sys` callbacks made
//! once by `groupApi()`: a 3-task race creates no native function objects.
//!
//! `settle(h, i, ok)` answers in one number: the index of the next task to start (>= 0), -1 to
//! wait, the verdict (-2 fulfil, -3 reject with this task's outcome, -4 reject with every error,
//! for `any`), or -5: ignored, the task was no longer running.

use crate::napi_raw::{f64_of, guarded, num, numbers};
use async_shape_core::combinators::{Group, Policy, Step, Verdict};
use async_shape_core::now_ns;
use napi::bindgen_prelude::{Env, Result, Unknown};
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;
use std::ffi::CStr;
use std::ptr;

#[derive(Default)]
struct Slab {
  groups: Vec<Option<Group>>,
  free: Vec<u32>,
}

thread_local! {
  static GROUPS: RefCell<Slab> = RefCell::new(Slab::default());
}

fn with_group<R>(h: u32, f: impl FnOnce(&mut Group) -> R) -> Option<R> {
  GROUPS.with(|s| s.borrow_mut().groups.get_mut(h as usize).and_then(|g| g.as_mut()).map(f))
}

/// The first `N` arguments as numbers (missing ones read 0).
unsafe fn numbers_of<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> [f64; N] {
  let mut argv = [ptr::null_mut(); N];
  let mut argc = N;
  sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut());
  let mut out = [0.0; N];
  for (o, v) in out.iter_mut().zip(argv).take(argc.min(N)) {
    *o = f64_of(env, v);
  }
  out
}

/// A handle, index or code: an integer in u32's range, else u32::MAX (no such group or task).
/// Never wraps: 2**32 + 1 must not read as 1.
fn index(v: f64) -> u32 {
  if v >= 0.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
    v as u32
  } else {
    u32::MAX
  }
}

unsafe fn args<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> [u32; N] {
  numbers_of::<N>(env, info).map(index)
}

/// `create(policy, n, concurrency)` → handle. `concurrency` 0 means no limit.
unsafe fn create_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [policy, n, concurrency] = numbers_of::<3>(env, info);
  let n = index(n);
  if n == u32::MAX {
    sys::napi_throw_range_error(env, ptr::null(), c"async-shape: a group holds at most 2**32 - 2 tasks".as_ptr());
    return ptr::null_mut();
  }
  // 0, Infinity, anything at or above the number of tasks: no limit (a limit never wraps).
  let concurrency = if concurrency >= 1.0 && concurrency < n as f64 { concurrency as u32 } else { 0 };
  let Some(policy) = Policy::from_code(index(policy)) else {
    sys::napi_throw_range_error(env, ptr::null(), c"async-shape: unknown group policy".as_ptr());
    return ptr::null_mut();
  };
  let group = Group::new(policy, n, concurrency);
  let h = GROUPS.with(|s| {
    let mut s = s.borrow_mut();
    match s.free.pop() {
      Some(h) => {
        s.groups[h as usize] = Some(group);
        h
      }
      None => {
        s.groups.push(Some(group));
        (s.groups.len() - 1) as u32
      }
    }
  });
  num(env, h as f64)
}

/// `startInitial(h)` → how many tasks start now, from index 0.
unsafe fn start_initial_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(env, info);
  num(env, with_group(h, |g| g.start_initial()).unwrap_or(0) as f64)
}

unsafe fn settle_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h, i, ok] = args::<3>(env, info);
  let step = with_group(h, |g| g.settle(i, ok != 0)).unwrap_or(Step::Ignored);
  let code = match step {
    Step::Start(j) => j as f64,
    Step::Wait => -1.0,
    Step::Ignored => -5.0,
    Step::Decided(Verdict::Fulfil) => -2.0,
    Step::Decided(Verdict::RejectWithThis) => -3.0,
    Step::Decided(Verdict::RejectAll) => -4.0,
    Step::Decided(_) => -1.0,
  };
  num(env, code)
}

/// `abort(h)` → 1 when this decided the group (the outer signal aborted first), else 0.
unsafe fn abort_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(env, info);
  num(env, if with_group(h, |g| g.abort()).unwrap_or(false) { 1.0 } else { 0.0 })
}

/// `running(h)` → indices still running (after the verdict: the ones to abort).
unsafe fn running_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(env, info);
  numbers(env, with_group(h, |g| g.running()).unwrap_or_default().into_iter().map(f64::from))
}

/// `armDeadline(h, i, ms)` → ms until the earliest deadline when this one became it, else -1.
unsafe fn arm_deadline_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h, i, ms] = numbers_of::<3>(env, info);
  // A saturating cast: NaN reads 0, huge values the far future.
  let at = now_ns().saturating_add((ms.max(0.0) * 1e6) as u64);
  let earliest = with_group(index(h), |g| g.arm_deadline(index(i), at)).unwrap_or(false);
  num(env, if earliest { ms } else { -1.0 })
}

/// `expire(h)` → indices of running tasks past their deadline.
unsafe fn expire_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(env, info);
  numbers(env, with_group(h, |g| g.expire(now_ns())).unwrap_or_default().into_iter().map(f64::from))
}

/// `nextDeadline(h)` → ms until the earliest live deadline, or -1.
unsafe fn next_deadline_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(env, info);
  let next = with_group(h, |g| g.next_deadline()).flatten();
  num(env, next.map_or(-1.0, |at| at.saturating_sub(now_ns()) as f64 / 1e6))
}

/// `free(h)`: the group is done; its handle may be reused.
unsafe fn free_body(_env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let [h] = args::<1>(_env, info);
  GROUPS.with(|s| {
    let mut s = s.borrow_mut();
    if let Some(slot) = s.groups.get_mut(h as usize) {
      if slot.take().is_some() {
        s.free.push(h);
      }
    }
  });
  ptr::null_mut()
}

/// `live()` → groups not yet freed (for leak tests).
unsafe fn live_body(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
  let n = GROUPS.with(|s| s.borrow().groups.iter().filter(|g| g.is_some()).count());
  num(env, n as f64)
}

/// The raw entry points: each runs its body under `guarded`, so that a panic throws a JS Error
/// instead of aborting the process.
macro_rules! entries {
  ($($name:ident => $body:ident),* $(,)?) => {
    $(
      unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
        // SAFETY: called by N-API on the JS thread with this callback's env and info.
        unsafe { guarded(env, || $body(env, info)) }
      }
    )*
  };
}

entries! {
  create => create_body,
  start_initial => start_initial_body,
  settle => settle_body,
  abort => abort_body,
  running => running_body,
  arm_deadline => arm_deadline_body,
  expire => expire_body,
  next_deadline => next_deadline_body,
  free => free_body,
  live => live_body,
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// The combinators' native functions, made once per module instance.
#[napi(js_name = "groupApi")]
pub fn group_api(env: &Env) -> Result<Unknown<'_>> {
  let methods: [(&CStr, Callback); 10] = [
    (c"create", create),
    (c"startInitial", start_initial),
    (c"settle", settle),
    (c"abort", abort),
    (c"running", running),
    (c"armDeadline", arm_deadline),
    (c"expire", expire),
    (c"nextDeadline", next_deadline),
    (c"free", free),
    (c"live", live),
  ];
  let raw = env.raw();
  unsafe {
    let mut obj = ptr::null_mut();
    sys::napi_create_object(raw, &mut obj);
    for (name, cb) in methods {
      let mut f = ptr::null_mut();
      sys::napi_create_function(raw, name.as_ptr(), -1, Some(cb), ptr::null_mut(), &mut f);
      sys::napi_set_named_property(raw, obj, name.as_ptr(), f);
    }
    Ok(Unknown::from_raw_unchecked(raw, obj))
  }
}
