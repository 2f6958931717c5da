//! napi glue for event-loop telemetry (issue #5): one hub per JS thread (the main thread, each
//! worker) with one unref'd libuv check handle on that thread's loop, feeding every monitor of the
//! thread. Monitors are integer ids; the JS layer (`lib/event-loop/monitor.js`) wraps them. The
//! sampling and the watchdog are the core's (`async_shape_core::event_loop`); the libuv functions
//! come from the host binary ([`uv`]).
//!
//! - The check callback (Rust, no JS) samples each iteration's busy time into the monitors'
//!   samplers, publishes the heartbeat for the watchdog thread (`core/src/event_loop/watchdog.rs`),
//!   and records the stalls that just ended with the attribution the watchdog gathered.
//!   Iterations that end in the same millisecond of libuv's cached clock (`uv_now`) as the last
//!   sample are coalesced into the next sample (a few ns each); a stall the watchdog has seen
//!   always ends in an exact sample.
//! - A hot loop (dozens of iterations per millisecond) would still pay that per iteration, so
//!   while it stays hot the check handle gives way to an unref'd 1 ms timer taking the same
//!   coalesced samples (the loop is awake anyway: no forced wake-up), and the check handle comes
//!   back as soon as the loop sleeps in a window.
//! - Finished stalls reach `on('stall')` from the check callback itself, which runs on the JS
//!   thread with no JS on the stack: `napi_make_callback`, the documented way back into JS from a
//!   libuv callback. A threadsafe function would need no thread hop here, and a weak one was seen
//!   to wait for the loop's next unrelated wake-up on Node 24.
//! - Teardown: an async cleanup hook (raw `napi_add_async_cleanup_hook`; napi-rs' wrapper removes
//!   the hook before the handle is closed) unregisters the loop from the watchdog, stops and
//!   `uv_close`s the handles, and removes itself in the last close callback. A worker that exits
//!   or is terminated with a monitor on leaves nothing open.
//! - `loopCurrentStall(id)` works from any thread: ids are process-wide.
//!
//! # Soundness: the hub is shared, never borrowed mutably
//! The stall listener is JS, and JS may call straight back into this module (`stalls()`,
//! `disable()`, `close()`, a new monitor, even `loopSampleCost`, which runs the check callback).
//! So nothing here ever makes a `&mut Hub`: the hub is reached as `&Hub` for the length of one
//! call ([`with_hub`], [`with_handle_hub`]), every field that changes after creation is a `Cell`
//! or a `RefCell`, and no `RefCell` borrow is held across a call into JS. The callbacks take what
//! they need to call the listener ([`StallCall`]), drop their reference to the hub, call, and
//! then look at the hub afresh: a re-entrant call sees a consistent hub and leaves one.
//!
//! The hub is freed in exactly one place, the last close callback ([`on_closed`]), which libuv
//! runs from its close phase after the env cleanup hook closed the handles: never during an
//! N-API call, a libuv callback of this loop, or a call into JS. So a `&Hub` made from the
//! thread-local pointer or a handle's `data` lives for as long as the call it was made in.

use crate::napi_raw::{contained, status};
use async_shape_core::event_loop::sampler::{LoopSampler, RecentWindow, Stall, StallRing, Watchdog};
use async_shape_core::event_loop::watchdog::{self as watchdog, LoopShared};
use async_shape_core::event_loop::wire::{
  EMPTY_MIN, MODE_HOT, MODE_LEN, MODE_RUNNING, NO_MONITOR, PERCENTILE_P, PERCENTILE_STRIDE, PERCENTILE_VALUE,
  REACTION_COUNTER, REACTION_FLAG, REACTION_SLOTS, RECENT_BUSY, RECENT_LEN, RECENT_MAX, RECENT_UTILIZATION,
  SAMPLE_COST_COALESCED, SAMPLE_COST_EXACT, SAMPLE_COST_LEN, STATS_COUNT, STATS_LEN, STATS_MAX, STATS_MEAN, STATS_MIN,
  STATS_STDDEV,
};
pub mod uv;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use uv::{Handle, HandleKind, Uv};

const MS: f64 = 1e6;

struct Monitor {
  sampler: LoopSampler,
  threshold: u64,
  recent: RecentWindow,
  ring: StallRing,
}

/// One JS thread's sampling state, in a `Box` from [`create_hub`] to [`on_closed`]. Shared only
/// (see the module's soundness note): what changes after creation is in a `Cell` or `RefCell`.
struct Hub {
  env: sys::napi_env,
  uv: &'static Uv,
  /// This thread's loop; alive until after the env cleanup hook ran.
  loop_ptr: *mut uv::Loop,
  /// The check and timer handles, from `uv.alloc`; freed by their close callbacks.
  check: *mut Handle,
  timer: *mut Handle,
  running: Cell<bool>,
  /// Sampling from the 1 ms timer (hot loop) instead of the check handle.
  hot: Cell<bool>,
  /// Iterations coalesced since the last sample.
  coalesced: Cell<u32>,
  /// Handles still to be closed at teardown.
  open_handles: Cell<u8>,
  shared: Arc<LoopShared>,
  monitors: RefCell<BTreeMap<u32, Monitor>>,
  /// (wall, idle) at the previous sample, and libuv's cached ms clock then.
  last: Cell<(u64, u64)>,
  last_ms: Cell<u64>,
  last_reactions: Cell<u32>,
  /// The JS thread's reaction buffer (`REACTION_SLOTS` Int32s of a SharedArrayBuffer, which can be
  /// neither detached nor transferred, and whose backing store never moves) and the reference
  /// keeping its typed array, so the buffer, alive until `on_closed`.
  reactions: *const AtomicI32,
  reactions_ref: sys::napi_ref,
  cleanup: Cell<sys::napi_async_cleanup_hook_handle>,
  /// The JS function told about finished stalls, and its async context (null until set).
  listener: Cell<sys::napi_ref>,
  async_context: Cell<sys::napi_async_context>,
}

thread_local! {
  /// This thread's hub, or null: set by `create_hub`, cleared by the env cleanup hook.
  static HUB: Cell<*mut Hub> = const { Cell::new(ptr::null_mut()) };
}

/// Every monitor of the process, for `loopCurrentStall` from any thread: (its loop, its
/// threshold, enabled).
type MonitorIndex = HashMap<u32, (Arc<LoopShared>, u64, bool)>;

fn monitors() -> &'static Mutex<MonitorIndex> {
  static MONITORS: OnceLock<Mutex<MonitorIndex>> = OnceLock::new();
  MONITORS.get_or_init(Default::default)
}

/// The index, locked (a poisoned lock is still usable: its map is never left half-updated).
fn index() -> std::sync::MutexGuard<'static, MonitorIndex> {
  monitors().lock().unwrap_or_else(|e| e.into_inner())
}

static NEXT_ID: AtomicU32 = AtomicU32::new(NO_MONITOR + 1);

/// The thread's hub, for the length of `f`; an Error when this thread has none.
fn with_hub<T>(f: impl FnOnce(&Hub) -> T) -> Result<T> {
  let hub = HUB.with(Cell::get);
  if hub.is_null() {
    return Err(Error::from_reason("async-shape: no event-loop monitor on this thread"));
  }
  // SAFETY: a non-null HUB is this thread's live hub (set by `create_hub`, cleared by the cleanup
  // hook before the hub can be freed), and it is freed only by `on_closed`, never during this
  // call (the module's soundness note). The reference is shared and ends with `f`.
  Ok(f(unsafe { &*hub }))
}

/// The hub whose handle libuv called back with, for the length of `f`.
///
/// # Safety
/// `handle` is one of a hub's handles and its close callback has not finished (libuv's check,
/// timer and close callbacks, called on the loop's thread, are such calls).
unsafe fn with_handle_hub<T>(handle: *mut Handle, f: impl FnOnce(&Hub) -> T) -> T {
  // SAFETY: the caller's contract; the handle's `data` is its hub (set by `uv.alloc`), alive until
  // the last close callback frees it, which is not during this call.
  f(unsafe { &*(uv::data_of(handle) as *const Hub) })
}

impl Hub {
  /// The reaction counter (this thread writes it too: a plain read would do, but the watchdog
  /// reads it concurrently, so every Rust access is atomic).
  fn counter(&self) -> u32 {
    // SAFETY: the buffer has `REACTION_SLOTS` aligned slots (checked by `reaction_buffer`) of a
    // SharedArrayBuffer, which no JS can detach, and stays alive while the hub does
    // (`reactions_ref`, deleted in `on_closed`).
    unsafe { &*self.reactions.add(REACTION_COUNTER) }.load(Ordering::Relaxed) as u32
  }

  /// The in-reaction flag.
  fn flag(&self) -> i32 {
    // SAFETY: as in `counter`.
    unsafe { &*self.reactions.add(REACTION_FLAG) }.load(Ordering::Relaxed)
  }

  /// Sets the in-reaction flag.
  fn set_flag(&self, value: i32) {
    // SAFETY: as in `counter`.
    unsafe { &*self.reactions.add(REACTION_FLAG) }.store(value, Ordering::Relaxed);
  }

  /// libuv's cached loop time, in ms.
  fn now_ms(&self) -> u64 {
    // SAFETY: `loop_ptr` is this thread's live loop (it outlives the hub's callbacks and calls).
    unsafe { (self.uv.now)(self.loop_ptr) }
  }

  fn now_and_idle(&self) -> (u64, u64) {
    // SAFETY: `uv_hrtime` takes nothing; `loop_ptr` is this thread's live loop.
    unsafe { ((self.uv.hrtime)(), (self.uv.metrics_idle_time)(self.loop_ptr)) }
  }

  // The handle operations. The handles are initialized in `create_hub` and live until their close
  // callbacks, after which no hub method runs; libuv fails these only for a closing handle or a
  // null callback (debug-asserted: there is nobody to throw to in a libuv callback, and ignoring
  // a failed start or stop leaves at worst a sampling mode the next callback corrects).

  fn start_check(&self) {
    // SAFETY: `check` is the hub's initialized check handle, on this thread (see above).
    let status = unsafe { (self.uv.check_start)(self.check, on_check) };
    debug_assert_eq!(status, 0, "uv_check_start");
  }

  fn stop_check(&self) {
    // SAFETY: as in `start_check`.
    let status = unsafe { (self.uv.check_stop)(self.check) };
    debug_assert_eq!(status, 0, "uv_check_stop");
  }

  fn start_timer(&self) {
    // SAFETY: `timer` is the hub's initialized timer handle, on this thread (see above).
    let status = unsafe { (self.uv.timer_start)(self.timer, on_timer, 1, 1) };
    debug_assert_eq!(status, 0, "uv_timer_start");
  }

  fn stop_timer(&self) {
    // SAFETY: as in `start_timer`.
    let status = unsafe { (self.uv.timer_stop)(self.timer) };
    debug_assert_eq!(status, 0, "uv_timer_stop");
  }

  /// Starts or stops the check handle and the watchdog's interest as monitors come and go.
  fn refresh(&self) {
    let threshold = self.monitors.borrow().values().filter(|m| m.sampler.is_enabled()).map(|m| m.threshold).min();
    match (threshold, self.running.get()) {
      (Some(_), false) => {
        let (now, idle) = self.now_and_idle();
        self.last.set((now, idle));
        self.last_ms.set(self.now_ms());
        self.last_reactions.set(self.counter());
        self.shared.heartbeat(now, idle, self.last_reactions.get());
        self.start_check();
        self.running.set(true);
        self.hot.set(false);
        self.coalesced.set(0);
      }
      (None, true) => {
        self.stop_check();
        self.stop_timer();
        self.running.set(false);
        self.hot.set(false);
      }
      _ => {}
    }
    self.shared.threshold.store(threshold.unwrap_or(u64::MAX), Ordering::Release);
    self.shared.watching.store(threshold.is_some(), Ordering::Release);
    watchdog::poke();
  }

  /// What calling the stall listener needs, if one is set; taken so that the call runs with no
  /// reference to the hub.
  fn stall_call(&self) -> Option<StallCall> {
    let listener = self.listener.get();
    (!listener.is_null()).then(|| StallCall { env: self.env, listener, context: self.async_context.get() })
  }
}

/// Iterations coalesced into one sample at which the loop counts as hot.
const HOT_ITERATIONS: u32 = 32;

unsafe extern "C" fn on_check(handle: *mut Handle) {
  // SAFETY: libuv calls this on the loop's thread with the hub's live check handle (as does
  // `loopSampleCost`, from a call on that thread).
  contained("the event-loop check callback", || unsafe { on_check_body(handle) });
}

/// # Safety
/// `handle` is a hub's check handle, not closed, and this runs on its loop's thread.
unsafe fn on_check_body(handle: *mut Handle) {
  let step = |hub: &Hub| {
    let ms = hub.now_ms();
    if ms == hub.last_ms.get() && !hub.shared.exact_next.load(Ordering::Relaxed) {
      hub.coalesced.set(hub.coalesced.get() + 1);
      return None;
    }
    let hot = hub.coalesced.get() >= HOT_ITERATIONS;
    Some((hot, sample(hub, ms)))
  };
  // SAFETY: the function's contract is `with_handle_hub`'s.
  let Some((hot, stalled)) = (unsafe { with_handle_hub(handle, step) }) else { return };
  if let Some(call) = stalled {
    call.run();
  }
  // The listener may have disabled, closed or created monitors: look at the hub afresh.
  let after = |hub: &Hub| {
    if hot && hub.running.get() && !hub.hot.get() {
      // Many iterations per ms: sample from a 1 ms timer instead, until the loop sleeps.
      hub.hot.set(true);
      hub.stop_check();
      hub.start_timer();
    }
  };
  // SAFETY: as above; JS cannot close the handle (only the env cleanup hook does, and it does not
  // run during a callback of this loop).
  unsafe { with_handle_hub(handle, after) }
}

unsafe extern "C" fn on_timer(handle: *mut Handle) {
  // SAFETY: libuv calls this on the loop's thread with the hub's live timer handle.
  contained("the event-loop timer callback", || unsafe { on_timer_body(handle) });
}

/// # Safety
/// `handle` is a hub's timer handle, not closed, and this runs on its loop's thread.
unsafe fn on_timer_body(handle: *mut Handle) {
  let step = |hub: &Hub| {
    let ms = hub.now_ms();
    let idle_before = hub.last.get().1;
    (idle_before, sample(hub, ms))
  };
  // SAFETY: the function's contract is `with_handle_hub`'s.
  let (idle_before, stalled) = unsafe { with_handle_hub(handle, step) };
  if let Some(call) = stalled {
    call.run();
  }
  let after = |hub: &Hub| {
    if !hub.running.get() || !hub.hot.get() {
      // Stopped, or restarted on the check handle (by `refresh`), from the listener.
      hub.stop_timer();
    } else if hub.last.get().1 > idle_before {
      // The loop slept in this window: back to a sample per iteration.
      hub.hot.set(false);
      hub.stop_timer();
      hub.start_check();
    }
  };
  // SAFETY: as above (see `on_check_body`).
  unsafe { with_handle_hub(handle, after) }
}

/// One exact sample: the busy time since the previous one, into every enabled monitor. Returns
/// the listener call to make if stalls ended (the caller makes it once it holds no reference to
/// the hub).
fn sample(hub: &Hub, ms: u64) -> Option<StallCall> {
  hub.last_ms.set(ms);
  hub.coalesced.set(0);
  hub.shared.exact_next.store(false, Ordering::Relaxed);
  let (now, idle) = hub.now_and_idle();
  let counter = hub.counter();
  // libuv runs the check and timer callbacks with no JS on the stack, so no reaction is running:
  // a set flag was left by a reaction that threw before its end. (`loopSampleCost` calls the
  // check callback from JS, maybe from inside a reaction: it restores the flag afterwards.)
  hub.set_flag(0);
  let (previous, _) = hub.last.get();
  let reactions = counter.wrapping_sub(hub.last_reactions.get()) as u64;
  hub.last.set((now, idle));
  hub.last_reactions.set(counter);
  hub.shared.heartbeat(now, idle, counter);
  let mut attribution = None;
  for m in hub.monitors.borrow_mut().values_mut() {
    let Some(busy) = m.sampler.on_iteration(now, idle) else { continue };
    m.recent.on_iteration(now, idle, busy);
    if busy >= m.threshold {
      let a = *attribution.get_or_insert_with(|| hub.shared.take_attribution(previous));
      m.ring.push(Stall {
        start: now - busy,
        duration: busy,
        kind: a.classify(reactions),
        reactions,
        microtask_share: a.microtask_share(reactions),
      });
    }
  }
  attribution.and_then(|_| hub.stall_call())
}

/// A call of the stall listener, taken from the hub so that it runs with no reference to it.
struct StallCall {
  env: sys::napi_env,
  listener: sys::napi_ref,
  context: sys::napi_async_context,
}

impl StallCall {
  /// Calls the stall listener, as an event callback: a throw is an uncaught exception. Runs on
  /// the hub's JS thread, from one of its libuv callbacks (or `loopSampleCost`): nothing to throw
  /// to, so statuses that can fail only on a bug are debug-asserted.
  fn run(self) {
    let StallCall { env, listener, context } = self;
    let mut scope = ptr::null_mut();
    // SAFETY: `env` is the hub's env and this is its JS thread; `scope` is a valid out place.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
      // Only while the env goes away: there is no one left to tell.
      return;
    }
    let (mut func, mut recv, mut result) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: `listener` is the hub's strong reference (deleted only in `on_closed`, after the
    // hub's last callback), read in the scope just opened.
    let status = unsafe { sys::napi_get_reference_value(env, listener, &mut func) };
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_get_reference_value");
    // SAFETY: as above; `recv` is a valid out place.
    let status = unsafe { sys::napi_get_global(env, &mut recv) };
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_get_global");
    let called = if func.is_null() {
      // Never for a strong reference; nothing to call.
      sys::Status::napi_ok
    } else {
      // SAFETY: `func` (a strong reference's value) and `recv` belong to this scope; `context` is
      // the hub's async context, destroyed only by the cleanup hook; no arguments.
      unsafe { sys::napi_make_callback(env, context, recv, func, 0, ptr::null(), &mut result) }
    };
    if called != sys::Status::napi_ok {
      // The listener threw (or JS can no longer run: the env is terminating). A throw becomes an
      // uncaught exception, as from any event listener.
      let mut pending = false;
      // SAFETY: `env` and this thread, as above; `pending` is a valid out place.
      let status = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
      debug_assert_eq!(status, sys::Status::napi_ok, "napi_is_exception_pending");
      if pending {
        let mut error = ptr::null_mut();
        // SAFETY: as above; `error` is a valid out place.
        let status = unsafe { sys::napi_get_and_clear_last_exception(env, &mut error) };
        debug_assert_eq!(status, sys::Status::napi_ok, "napi_get_and_clear_last_exception");
        // SAFETY: as above; `error` is the exception just taken, a value of this scope.
        let status = unsafe { sys::napi_fatal_exception(env, error) };
        // Fails only when JS can no longer run (the env terminates): nobody is left to tell.
        let _ = status;
      }
    }
    // SAFETY: `scope` is the scope opened above, the innermost one.
    let status = unsafe { sys::napi_close_handle_scope(env, scope) };
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_close_handle_scope");
  }
}

unsafe extern "C" fn on_env_cleanup(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  // SAFETY: N-API calls this once, on the JS thread, with the hub registered in `create_hub`.
  contained("the event-loop monitor's cleanup hook", || unsafe { on_env_cleanup_body(handle, arg) });
}

/// # Safety
/// `arg` is the hub this hook was registered with; this runs once, on its JS thread.
unsafe fn on_env_cleanup_body(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  // SAFETY: the function's contract; the hub is alive until `on_closed`, which libuv runs only
  // after the `uv_close` calls at the end of this function, in a later close phase.
  let hub = unsafe { &*(arg as *const Hub) };
  hub.cleanup.set(handle);
  HUB.with(|h| h.set(ptr::null_mut()));
  // From here on the watchdog and other threads no longer touch this loop.
  watchdog::unregister(&hub.shared);
  index().retain(|_, (shared, _, _)| !Arc::ptr_eq(shared, &hub.shared));
  hub.shared.watching.store(false, Ordering::Release);
  let context = hub.async_context.replace(ptr::null_mut());
  if !context.is_null() {
    // SAFETY: `context` is the hub's, made by `napi_async_init` with this env, destroyed once.
    let status = unsafe { sys::napi_async_destroy(hub.env, context) };
    // Fails only on a bug (a wrong env or context); nobody to throw to in a cleanup hook.
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_async_destroy");
  }
  hub.stop_check();
  hub.stop_timer();
  // A callback that still runs (none should: the loop is being torn down) sees a stopped hub.
  hub.running.set(false);
  hub.hot.set(false);
  for handle in [hub.check, hub.timer] {
    // SAFETY: each handle is the hub's, initialized and not yet closing; `on_closed` frees it.
    unsafe { (hub.uv.close)(handle, Some(on_closed)) };
  }
}

unsafe extern "C" fn on_closed(handle: *mut Handle) {
  // SAFETY: libuv calls this once per handle, on the loop's thread, when the handle is closed.
  contained("the event-loop close callback", || unsafe { on_closed_body(handle) });
}

/// # Safety
/// `handle` is a hub's handle whose close callback this is, on its loop's thread.
unsafe fn on_closed_body(handle: *mut Handle) {
  // SAFETY: the function's contract; the handle's `data` is its hub, alive until both handles
  // are closed (this is the first or the second).
  let hub_ptr = unsafe { uv::data_of(handle) } as *mut Hub;
  let last = {
    // SAFETY: as above; this shared reference is not used after this block, before the hub may
    // be freed below.
    let hub = unsafe { &*hub_ptr };
    let kind = if handle == hub.check { HandleKind::Check } else { HandleKind::Timer };
    // SAFETY: `handle` came from `hub.uv.alloc(kind, _)`, and libuv is done with it: its close
    // callback is running. Nothing reads it after this.
    unsafe { hub.uv.free(kind, handle) };
    hub.open_handles.set(hub.open_handles.get() - 1);
    hub.open_handles.get() == 0
  };
  if !last {
    return;
  }
  // SAFETY: `hub_ptr` is `create_hub`'s `Box::into_raw`; both handles are closed, HUB, the index
  // and the watchdog dropped it in the cleanup hook: this is its last use, and its only owner.
  let hub = unsafe { Box::from_raw(hub_ptr) };
  // SAFETY: null is always allowed. (Not needed for soundness: the cleanup hook unregistered the
  // loop, so nothing reads the buffer any more; tidy before its reference is deleted below.)
  unsafe { hub.shared.set_reactions(ptr::null()) };
  // The env is valid until the cleanup hook is removed (the hook handle holds it), so its
  // references are deleted first. Each fails only on a bug (a wrong env or reference); there is
  // nobody to throw to in a close callback, so the statuses are debug-asserted.
  // SAFETY: `reactions_ref` is the hub's own reference, deleted once, on the env's thread.
  let status = unsafe { sys::napi_delete_reference(hub.env, hub.reactions_ref) };
  debug_assert_eq!(status, sys::Status::napi_ok, "napi_delete_reference");
  let listener = hub.listener.get();
  if !listener.is_null() {
    // SAFETY: as above, for the listener's reference.
    let status = unsafe { sys::napi_delete_reference(hub.env, listener) };
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_delete_reference");
  }
  let cleanup = hub.cleanup.get();
  drop(hub);
  // SAFETY: `cleanup` is the hook handle of this env's hook, removed once, last.
  let status = unsafe { sys::napi_remove_async_cleanup_hook(cleanup) };
  debug_assert_eq!(status, sys::Status::napi_ok, "napi_remove_async_cleanup_hook");
}

/// A pending-exception error for napi-rs to return: the TypeError `message` is thrown now, and
/// napi-rs leaves a pending exception in place when the error says so.
///
/// # Safety
/// `env` is the env of the N-API call being run, on its JS thread.
unsafe fn type_error(env: sys::napi_env, message: &str) -> Error {
  let c = std::ffi::CString::new(message).expect("no NUL in the message");
  // SAFETY: the function's contract; `c` is NUL-terminated and outlives the call.
  let thrown = unsafe { sys::napi_throw_type_error(env, ptr::null(), c.as_ptr()) };
  if thrown == sys::Status::napi_ok {
    Error::new(Status::PendingException, message)
  } else {
    Error::from_reason(message)
  }
}

/// The first of the reaction buffer's Int32s: a TypeError unless `state` is an Int32Array of at
/// least `REACTION_SLOTS` over a SharedArrayBuffer. A plain ArrayBuffer can be detached or
/// transferred (`structuredClone(buffer, {transfer})`, `postMessage`), which frees or moves its
/// backing store under the watchdog thread; a SharedArrayBuffer can be neither.
///
/// # Safety
/// `env` is the env of the N-API call being run, on its JS thread, and `state` a value of that
/// call.
unsafe fn reaction_buffer(env: sys::napi_env, state: sys::napi_value) -> Result<*const AtomicI32> {
  let message =
    format!("async-shape: the reaction buffer must be an Int32Array of {REACTION_SLOTS} over a SharedArrayBuffer");
  let mut is_typed = false;
  // SAFETY: the function's contract; `is_typed` is a valid out place.
  status(unsafe { sys::napi_is_typedarray(env, state, &mut is_typed) }, "napi_is_typedarray")?;
  if !is_typed {
    // SAFETY: the function's contract.
    return Err(unsafe { type_error(env, &message) });
  }
  let (mut kind, mut length, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
  // SAFETY: the function's contract; `state` is a typed array and the out places are valid.
  let info =
    unsafe { sys::napi_get_typedarray_info(env, state, &mut kind, &mut length, &mut data, &mut buffer, &mut offset) };
  status(info, "napi_get_typedarray_info")?;
  // A typed array's buffer is an ArrayBuffer or a SharedArrayBuffer, and `napi_is_arraybuffer`
  // is false for a SharedArrayBuffer (V8's `IsArrayBuffer`); Node 20 has no
  // `node_api_is_sharedarraybuffer`.
  let mut plain = true;
  // SAFETY: the function's contract; `buffer` is the typed array's buffer, a value of this call.
  status(unsafe { sys::napi_is_arraybuffer(env, buffer, &mut plain) }, "napi_is_arraybuffer")?;
  let aligned = (data as *const AtomicI32).is_aligned();
  if kind != sys::TypedarrayType::int32_array || length < REACTION_SLOTS || plain || data.is_null() || !aligned {
    // SAFETY: the function's contract.
    return Err(unsafe { type_error(env, &message) });
  }
  Ok(data as *const AtomicI32)
}

/// Creates this thread's hub, unless it has one.
///
/// # Safety
/// `env` is the env of the N-API call being run, on its JS thread, and `state` a value of that
/// call (the thread's reaction buffer, checked by [`reaction_buffer`]).
unsafe fn create_hub(env: sys::napi_env, state: sys::napi_value, label: &str) -> Result<()> {
  if !HUB.with(Cell::get).is_null() {
    return Ok(());
  }
  let uv = uv::uv().ok_or_else(|| Error::from_reason("async-shape: the host exports no libuv"))?;
  let mut loop_ptr = ptr::null_mut();
  // SAFETY: the function's contract; `loop_ptr` is a valid out place.
  status(unsafe { sys::napi_get_uv_event_loop(env, &mut loop_ptr) }, "napi_get_uv_event_loop")?;
  let loop_ptr = loop_ptr as *mut uv::Loop;
  // SAFETY: the function's contract.
  let reactions = unsafe { reaction_buffer(env, state)? };
  let mut reactions_ref = ptr::null_mut();
  // SAFETY: the function's contract; `state` is a typed array of this call.
  status(unsafe { sys::napi_create_reference(env, state, 1, &mut reactions_ref) }, "napi_create_reference")?;
  // SAFETY: `uv_metrics_idle_time` is thread-safe (it takes the loop's metrics lock), and this
  // thread's loop outlives the env cleanup hook, which unregisters the loop first.
  let shared = unsafe { LoopShared::new(loop_ptr, uv.metrics_idle_time, uv::hrtime, label.to_string()) };
  // SAFETY: `reactions` is the first of at least `REACTION_SLOTS` 4-aligned Int32s of a
  // SharedArrayBuffer (`reaction_buffer`), whose backing store can be neither detached nor
  // transferred and never moves. `reactions_ref` keeps the typed array, so the buffer, alive until
  // `on_closed`, which runs after the env cleanup hook unregistered the loop (`set_reactions`
  // asks for "alive until `unregister` returns"). JS writes whole Int32s.
  unsafe { shared.set_reactions(reactions) };
  let shared = Arc::new(shared);
  let hub = Box::into_raw(Box::new(Hub {
    env,
    uv,
    loop_ptr,
    check: ptr::null_mut(),
    timer: ptr::null_mut(),
    running: Cell::new(false),
    hot: Cell::new(false),
    coalesced: Cell::new(0),
    open_handles: Cell::new(2),
    shared: shared.clone(),
    monitors: RefCell::new(BTreeMap::new()),
    last: Cell::new((0, 0)),
    last_ms: Cell::new(0),
    last_reactions: Cell::new(0),
    reactions,
    reactions_ref,
    cleanup: Cell::new(ptr::null_mut()),
    listener: Cell::new(ptr::null_mut()),
    async_context: Cell::new(ptr::null_mut()),
  }));
  let check = uv.alloc(HandleKind::Check, hub as *mut c_void);
  let timer = uv.alloc(HandleKind::Timer, hub as *mut c_void);
  // SAFETY: `loop_ptr` is this thread's live loop; `check` and `timer` are fresh zeroed handles of
  // their types' sizes, initialized once each (libuv's init functions cannot fail for these).
  unsafe {
    let status = (uv.check_init)(loop_ptr, check);
    debug_assert_eq!(status, 0, "uv_check_init");
    (uv.unref)(check);
    let status = (uv.timer_init)(loop_ptr, timer);
    debug_assert_eq!(status, 0, "uv_timer_init");
    (uv.unref)(timer);
  }
  // SAFETY: `hub` is the Box just leaked; no reference to it exists yet (the handles are stopped).
  unsafe {
    (*hub).check = check;
    (*hub).timer = timer;
  }
  let mut cleanup = ptr::null_mut();
  // SAFETY: the function's contract; `on_env_cleanup` gets `hub`, which lives until the hook is
  // removed (in `on_closed`).
  let added = unsafe { sys::napi_add_async_cleanup_hook(env, Some(on_env_cleanup), hub as *mut c_void, &mut cleanup) };
  // On failure (N-API fails here only when out of memory) the hub leaks on purpose: its handles
  // are in the loop's handle queue, which must never see freed memory.
  status(added, "napi_add_async_cleanup_hook")?;
  // SAFETY: `hub` is alive (above), and no reference to it exists.
  unsafe { (*hub).cleanup.set(cleanup) };
  watchdog::register(shared);
  HUB.with(|h| h.set(hub));
  Ok(())
}

/// Runs `f` on monitor `id` of this thread; an Error if it is closed. `f` must not call into JS
/// (the monitors are borrowed meanwhile).
fn with_monitor<T>(id: u32, f: impl FnOnce(&mut Monitor, &Hub) -> T) -> Result<T> {
  with_hub(|hub| {
    let mut monitors = hub.monitors.borrow_mut();
    let m = monitors.get_mut(&id).ok_or_else(|| Error::from_reason("async-shape: this monitor is closed"))?;
    Ok(f(m, hub))
  })?
}

/// Whether the host exports the libuv functions the native monitor needs.
#[napi(js_name = "loopSupported", catch_unwind)]
pub fn loop_supported() -> bool {
  uv::uv().is_some()
}

/// Creates a monitor on this thread's loop (disabled). `state` is the thread's reaction buffer.
#[napi(js_name = "loopCreate", catch_unwind)]
pub fn loop_create(
  env: Env,
  state: Unknown,
  threshold_ms: f64,
  window_ms: f64,
  capacity: u32,
  log_blocked: bool,
  label: String,
) -> Result<u32> {
  // SAFETY: `env` and `state` are this call's, on its JS thread. Checked on every call, though
  // only the thread's first monitor's buffer is kept (the JS layer passes the same one).
  unsafe { reaction_buffer(env.raw(), state.raw())? };
  // SAFETY: as above.
  unsafe { create_hub(env.raw(), state.raw(), &label)? };
  with_hub(|hub| {
    if log_blocked {
      hub.shared.log_blocked.store(true, Ordering::Relaxed);
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    // The JS layer bounds both to the pool room's MAX_TIMER_MS (2^31 - 1 ms), which fits a u64 of ns.
    let threshold = (threshold_ms * MS) as u64;
    let monitor = Monitor {
      sampler: LoopSampler::default(),
      threshold,
      recent: RecentWindow::new((window_ms * MS) as u64),
      ring: StallRing::new(capacity as usize),
    };
    hub.monitors.borrow_mut().insert(id, monitor);
    index().insert(id, (hub.shared.clone(), threshold, false));
    id
  })
}

fn set_enabled(id: u32, on: bool) -> Result<bool> {
  with_hub(|hub| {
    let (now, idle) = hub.now_and_idle();
    let changed = {
      let mut monitors = hub.monitors.borrow_mut();
      let m = monitors.get_mut(&id).ok_or_else(|| Error::from_reason("async-shape: this monitor is closed"))?;
      let changed = m.sampler.is_enabled() != on;
      if on && !m.sampler.is_enabled() {
        m.sampler.enable(now, idle);
        m.recent.start(now, idle);
      } else if !on {
        m.sampler.disable();
      }
      changed
    };
    if let Some(entry) = index().get_mut(&id) {
      entry.2 = on;
    }
    hub.refresh();
    Ok(changed)
  })?
}

#[napi(js_name = "loopEnable", catch_unwind)]
pub fn loop_enable(id: u32) -> Result<bool> {
  set_enabled(id, true)
}

#[napi(js_name = "loopDisable", catch_unwind)]
pub fn loop_disable(id: u32) -> Result<bool> {
  set_enabled(id, false)
}

/// Starts a new histogram and utilization window; a stall in progress is kept.
#[napi(js_name = "loopReset", catch_unwind)]
pub fn loop_reset(id: u32) -> Result<()> {
  with_monitor(id, |m, hub| {
    let (now, idle) = hub.now_and_idle();
    m.sampler.reset(now, idle)
  })
}

/// The busy time per iteration, in ns, laid out as the `STATS_*` indices say; the min of an
/// empty histogram is `EMPTY_MIN`, as perf_hooks reports it.
#[napi(js_name = "loopStats", catch_unwind)]
pub fn loop_stats(id: u32) -> Result<Vec<f64>> {
  with_monitor(id, |m, _| {
    let h = m.sampler.histogram();
    let mut out = vec![0.0; STATS_LEN];
    out[STATS_COUNT] = h.count() as f64;
    out[STATS_MIN] = if h.count() == 0 { EMPTY_MIN } else { h.min() as f64 };
    out[STATS_MAX] = h.max() as f64;
    out[STATS_MEAN] = h.mean();
    out[STATS_STDDEV] = h.stddev();
    out
  })
}

#[napi(js_name = "loopPercentile", catch_unwind)]
pub fn loop_percentile(id: u32, p: f64) -> Result<f64> {
  with_monitor(id, |m, _| m.sampler.histogram().percentile(p) as f64)
}

/// The percentile distribution as flat (percentile, value) pairs (`PERCENTILE_*`): 0, 50, 75,
/// 87.5, ... as in HdrHistogram's percentile iteration (what `IntervalHistogram#percentiles`
/// lists), then 100.
#[napi(js_name = "loopPercentiles", catch_unwind)]
pub fn loop_percentiles(id: u32) -> Result<Vec<f64>> {
  fn push(out: &mut Vec<f64>, p: f64, value: f64) {
    let mut pair = [0.0; PERCENTILE_STRIDE];
    pair[PERCENTILE_P] = p;
    pair[PERCENTILE_VALUE] = value;
    out.extend(pair);
  }
  with_monitor(id, |m, _| {
    let h = m.sampler.histogram();
    let mut out = Vec::new();
    if h.count() == 0 {
      push(&mut out, 100.0, 0.0);
      return out;
    }
    push(&mut out, 0.0, h.min() as f64);
    let mut p = 50.0;
    loop {
      let v = h.percentile(p);
      push(&mut out, p, v as f64);
      if v >= h.max() || p > 99.9999 {
        break;
      }
      p += (100.0 - p) / 2.0;
    }
    push(&mut out, 100.0, h.max() as f64);
    out
  })
}

/// Utilization over the window since enable/reset.
#[napi(js_name = "loopUtilization", catch_unwind)]
pub fn loop_utilization(id: u32) -> Result<f64> {
  with_monitor(id, |m, hub| {
    let (now, idle) = hub.now_and_idle();
    m.sampler.utilization(now, idle)
  })
}

/// The recent window (`RECENT_*`): its max (ns), its utilization, and the busy time so far in
/// this iteration (ns).
#[napi(js_name = "loopRecent", catch_unwind)]
pub fn loop_recent(id: u32) -> Result<Vec<f64>> {
  with_monitor(id, |m, hub| {
    let (now, idle) = hub.now_and_idle();
    let busy = if m.sampler.is_enabled() { Watchdog::busy_since(hub.last.get(), now, idle) } else { 0 };
    let mut out = vec![0.0; RECENT_LEN];
    out[RECENT_MAX] = m.recent.max(now) as f64;
    out[RECENT_UTILIZATION] = m.recent.utilization(now, idle);
    out[RECENT_BUSY] = busy as f64;
    out
  })
}

#[napi(object)]
pub struct LoopStall {
  /// Position in the monitor's sequence of stalls (1 = the first).
  pub index: f64,
  /// When it started, in ns on the hrtime clock.
  pub start: f64,
  pub duration: f64,
  /// A `STALL_*` code of the wire protocol (`StallKind`'s discriminant).
  pub kind: u32,
  pub reactions: f64,
  pub microtask_share: f64,
}

/// The finished stalls still in the ring whose index is above `since`.
#[napi(js_name = "loopStalls", catch_unwind)]
pub fn loop_stalls(id: u32, since: f64) -> Result<Vec<LoopStall>> {
  with_monitor(id, |m, _| {
    let total = m.ring.total() as f64;
    let held = m.ring.iter().count() as f64;
    m.ring
      .iter()
      .enumerate()
      .map(|(k, s)| (total - held + 1.0 + k as f64, s))
      .filter(|(index, _)| *index > since)
      .map(|(index, s)| LoopStall {
        index,
        start: s.start as f64,
        duration: s.duration as f64,
        kind: s.kind as u32,
        reactions: s.reactions as f64,
        microtask_share: s.microtask_share,
      })
      .collect()
  })
}

#[napi(js_name = "loopStallTotal", catch_unwind)]
pub fn loop_stall_total(id: u32) -> Result<f64> {
  with_monitor(id, |m, _| m.ring.total() as f64)
}

/// The stall in progress on monitor `id`'s loop (index 0, duration so far), from any thread; null
/// when there is none or the monitor is closed or disabled. `start` is on the hrtime clock, which
/// every thread shares.
#[napi(js_name = "loopCurrentStall", catch_unwind)]
pub fn loop_current_stall(id: u32) -> Option<LoopStall> {
  let (shared, threshold, enabled) = index().get(&id).cloned()?;
  if !enabled {
    return None;
  }
  let stall = watchdog::with_registered(&shared, |s| s.current(threshold))??;
  Some(LoopStall {
    index: 0.0,
    start: stall.start as f64,
    duration: stall.duration as f64,
    kind: stall.attribution.classify(stall.reactions) as u32,
    reactions: stall.reactions as f64,
    microtask_share: stall.attribution.microtask_share(stall.reactions),
  })
}

/// Sets the function this thread's hub calls (from the check callback, after the loop resumed)
/// when stalls ended. The first call to finish wins: the JS layer sets one dispatcher per thread,
/// and a call made from inside another (an async_hooks `init` hook run by `napi_async_init`)
/// wins over it; the loser's reference and async context are released at once.
#[napi(js_name = "loopSetListener", catch_unwind)]
pub fn loop_set_listener(env: Env, callback: Function<(), ()>) -> Result<()> {
  let env = env.raw();
  with_hub(|hub| {
    if !hub.listener.get().is_null() {
      return Ok(());
    }
    let (mut name, mut context, mut listener) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    let resource = c"async-shape:stall";
    // SAFETY: `env` is this call's, on its JS thread; `resource` is NUL-terminated (length -1);
    // the out places are valid.
    status(unsafe { sys::napi_create_string_utf8(env, resource.as_ptr(), -1, &mut name) }, "napi_create_string_utf8")?;
    // SAFETY: as above; `name` is the string just made.
    status(unsafe { sys::napi_async_init(env, ptr::null_mut(), name, &mut context) }, "napi_async_init")?;
    // SAFETY: as above; `callback` is a function value of this call.
    let made = unsafe { sys::napi_create_reference(env, callback.raw(), 1, &mut listener) };
    // `napi_async_init` ran async_hooks' `init` hooks, which may have set a listener meanwhile
    // (through this function): the first call to finish wins, and a later one keeps nothing.
    let lost = !hub.listener.get().is_null();
    if made == sys::Status::napi_ok && lost {
      // SAFETY: `listener` was made just above and is not kept.
      let deleted = unsafe { sys::napi_delete_reference(env, listener) };
      status(deleted, "napi_delete_reference")?;
    }
    if made != sys::Status::napi_ok || lost {
      // SAFETY: `context` was made just above and is not kept.
      let destroyed = unsafe { sys::napi_async_destroy(env, context) };
      status(destroyed, "napi_async_destroy")?;
      return status(made, "napi_create_reference");
    }
    hub.async_context.set(context);
    hub.listener.set(listener);
    Ok(())
  })?
}

#[napi(js_name = "loopClose", catch_unwind)]
pub fn loop_close(id: u32) -> Result<()> {
  index().remove(&id);
  // No hub on this thread: nothing to close (a collected monitor of a thread already torn down).
  let _ = with_hub(|hub| {
    let closed = hub.monitors.borrow_mut().remove(&id);
    hub.refresh();
    drop(closed);
  });
  Ok(())
}

/// Live monitors on this thread (for leak tests).
#[napi(js_name = "loopMonitorCount", catch_unwind)]
pub fn loop_monitor_count() -> u32 {
  with_hub(|h| h.monitors.borrow().len() as u32).unwrap_or(0)
}

/// Benchmark probe: ns per check callback on this thread's hub (`SAMPLE_COST_*`: the hot path,
/// an iteration in the same ms as the last sample, and an exact sample), over `n` direct calls
/// each.
#[napi(js_name = "loopSampleCost", catch_unwind)]
pub fn loop_sample_cost(n: u32) -> Result<Vec<f64>> {
  let (hub, check, shared, flag) = with_hub(|hub| {
    if !hub.running.get() || hub.hot.get() {
      return Err(Error::from_reason("async-shape: enable a monitor first, on a loop that is not hot"));
    }
    // This call may run inside a reaction whose flag is set: each sample clears it (see `sample`).
    Ok((hub as *const Hub, hub.check, Arc::clone(&hub.shared), hub.flag()))
  })??;
  let time = |force: bool| {
    let t0 = uv::hrtime();
    for _ in 0..n {
      // Not hot: the probe's calls must not switch the hub to its timer.
      // SAFETY: the hub is alive for this whole call (it is freed only in a close callback); this
      // writes a Cell through a shared reference that ends with the statement.
      unsafe { (*hub).coalesced.set(0) };
      if force {
        shared.exact_next.store(true, Ordering::Relaxed);
      }
      // SAFETY: `check` is the hub's live check handle and this is its loop's thread, which is
      // what libuv would guarantee; a stall listener it calls may re-enter this module.
      unsafe { on_check(check) };
    }
    (uv::hrtime() - t0) as f64 / n as f64
  };
  time(false);
  let mut out = vec![0.0; SAMPLE_COST_LEN];
  out[SAMPLE_COST_COALESCED] = time(false);
  out[SAMPLE_COST_EXACT] = time(true);
  // The reaction this call runs in (if any) is still running: its flag is restored. (A stall
  // listener may have closed the hub's last monitor meanwhile, but not the hub: it lives until
  // the env's teardown.)
  let _ = with_hub(|hub| hub.set_flag(flag));
  Ok(out)
}

/// Diagnostics for tests: this thread's hub's mode (`MODE_RUNNING`, `MODE_HOT`).
#[napi(js_name = "loopMode", catch_unwind)]
pub fn loop_mode() -> Vec<bool> {
  let mut out = vec![false; MODE_LEN];
  let _ = with_hub(|h| {
    out[MODE_RUNNING] = h.running.get();
    out[MODE_HOT] = h.hot.get();
  });
  out
}
