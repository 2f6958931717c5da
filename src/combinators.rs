//! The combinators' binding: groups ([`Group`], `core/src/combinators.rs`) live in a thread-local
//! slab (each JS thread has its own) and JS (`lib/combinators/group.js`) holds an integer handle.
//! The functions are shared, raw `napi::sys` callbacks made once by `groupApi()`: a 3-task race
//! creates no native function objects.
//!
//! `settle(h, i, ok)` answers in one number: the index of the next task to start (>= 0), or a
//! code of the room's wire protocol (`async_shape_core::combinators::wire`): `WAIT`, a verdict
//! (`FULFIL`, `REJECT_WITH_THIS`, `REJECT_ALL`), or `IGNORED` (the task was no longer running).
//!
//! No JS runs inside these functions: they read numbers, make numbers and arrays of own data
//! properties (`napi_raw::numbers`, which no `Array.prototype` setter intercepts), and call no
//! function and settle no promise. Every body still borrows the slab, computes, releases it, and
//! only then makes its answer.

use crate::napi_raw::{method_table, num, numbers, numbers_of, raw_entries, throw_range_error, Callback};
use async_shape_core::combinators::wire::{ABORT_DECIDED, ABORT_UNDECIDED, NO_DEADLINE, NO_LIMIT, TASK_FULFILLED};
use async_shape_core::combinators::{Group, Policy, Step};
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

/// Runs `f` on group `h`, if it is live. `f` must not call into JS (none does: the slab's borrow
/// is held while it runs).
fn with_group<R>(h: u32, f: impl FnOnce(&mut Group) -> R) -> Option<R> {
  GROUPS.with(|s| s.borrow_mut().groups.get_mut(h as usize).and_then(|g| g.as_mut()).map(f))
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

/// The first `N` arguments as handles, indices or codes (see [`index`]).
///
/// # Safety
/// `numbers_of`'s: `env` and `info` are those of the call being run, on its JS thread.
unsafe fn args<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> [u32; N] {
  // SAFETY: the caller's contract is `numbers_of`'s.
  unsafe { numbers_of::<N>(env, info) }.map(index)
}

// The bodies below share one contract, that of `napi_raw`'s raw entries (`raw_entries!` calls
// them so): `env` and `info` are those of the call being run, on its JS thread.

/// `create(policy, n, concurrency)` → handle. `concurrency` `NO_LIMIT` (0) means no limit.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn create_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [policy, n, concurrency] = unsafe { numbers_of::<3>(env, info) };
  let n = index(n);
  if n == u32::MAX {
    // SAFETY: `env` is this call's, on its JS thread (this body's contract).
    return unsafe { throw_range_error(env, c"async-shape: a group holds at most 2**32 - 2 tasks") };
  }
  // NO_LIMIT, Infinity, anything at or above the number of tasks: no limit (a limit never wraps).
  let concurrency = if concurrency >= 1.0 && concurrency < n as f64 { concurrency as u32 } else { NO_LIMIT };
  let Some(policy) = Policy::from_code(index(policy)) else {
    // SAFETY: `env` is this call's, on its JS thread (this body's contract).
    return unsafe { throw_range_error(env, c"async-shape: unknown group policy") };
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
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, f64::from(h)) }
}

/// `startInitial(h)` → how many tasks start now, from index 0.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn start_initial_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
  let k = with_group(h, |g| g.start_initial()).unwrap_or(0);
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, f64::from(k)) }
}

/// `settle(h, i, ok)` → the index of the next task to start, or a wire code (see the module
/// doc). The hot path: N-API calls only to read the arguments and make the answer, no allocation.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn settle_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h, i, outcome] = unsafe { args::<3>(env, info) };
  let step = with_group(h, |g| g.settle(i, outcome == TASK_FULFILLED)).unwrap_or(Step::Ignored);
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, step.code()) }
}

/// `abort(h)` → `ABORT_DECIDED` when this decided the group (the outer signal aborted first), else
/// `ABORT_UNDECIDED`.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn abort_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
  let decided = with_group(h, |g| g.abort()).unwrap_or(false);
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, f64::from(if decided { ABORT_DECIDED } else { ABORT_UNDECIDED })) }
}

/// `running(h)` → indices still running (after the verdict: the ones to abort).
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn running_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
  let running = with_group(h, |g| g.running()).unwrap_or_default();
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  // (`Err` only when JS cannot run: null is then the answer.)
  unsafe { numbers(env, running.into_iter().map(f64::from)) }.unwrap_or(ptr::null_mut())
}

/// `armDeadline(h, i, ms)` → ms until the earliest deadline when this one became it, else
/// `NO_DEADLINE`.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn arm_deadline_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h, i, ms] = unsafe { numbers_of::<3>(env, info) };
  // A saturating cast: NaN reads 0, huge values the far future.
  let at = now_ns().saturating_add((ms.max(0.0) * 1e6) as u64);
  let earliest = with_group(index(h), |g| g.arm_deadline(index(i), at)).unwrap_or(false);
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, if earliest { ms } else { NO_DEADLINE }) }
}

/// `expire(h)` → indices of running tasks past their deadline.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn expire_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
  let expired = with_group(h, |g| g.expire(now_ns())).unwrap_or_default();
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  // (`Err` only when JS cannot run: null is then the answer.)
  unsafe { numbers(env, expired.into_iter().map(f64::from)) }.unwrap_or(ptr::null_mut())
}

/// `nextDeadline(h)` → ms until the earliest live deadline, or `NO_DEADLINE`.
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn next_deadline_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
  let next = with_group(h, |g| g.next_deadline()).flatten();
  let ms = next.map_or(NO_DEADLINE, |at| at.saturating_sub(now_ns()) as f64 / 1e6);
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, ms) }
}

/// `free(h)`: the group is done; its handle may be reused. Answers `undefined` (a null result).
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn free_body(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: `env` and `info` are this call's (this body's contract).
  let [h] = unsafe { args::<1>(env, info) };
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
///
/// # Safety
/// `env` and `info` are those of the call being run, on its JS thread.
unsafe fn live_body(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
  let n = GROUPS.with(|s| s.borrow().groups.iter().filter(|g| g.is_some()).count());
  // SAFETY: `env` is this call's, on its JS thread (this body's contract).
  unsafe { num(env, n as f64) }
}

// The raw entry points: each runs its body under `guarded`, so that a panic throws a JS Error
// instead of aborting the process.
raw_entries! {
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

/// The combinators' native functions, made once per module instance. They carry no data: the
/// groups live in the thread-local slab.
#[napi(js_name = "groupApi", catch_unwind)]
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
  // SAFETY: `raw` is this call's env, on its JS thread; no function gets data, so there is
  // nothing for a finalizer to free.
  let obj = unsafe { method_table(raw, &methods, || None) }
    .map_err(|what| napi::Error::from_reason(format!("async-shape: could not {what} for the combinators")))?;
  // SAFETY: `obj` is a value just made in this call's env and handle scope; the `Unknown` is
  // bound to `env`'s lifetime, and napi-rs returns it to JS before the scope closes.
  Ok(unsafe { Unknown::from_raw_unchecked(raw, obj) })
}
