//! napi glue for event-loop telemetry (issue #5): one hub per JS thread (the main thread, each
//! worker) with one unref'd libuv check handle on that thread's loop, feeding every monitor of the
//! thread. Monitors are integer ids; the JS layer (lib/loop-monitor.js) wraps them.
//!
//! - The check callback (Rust, no JS) samples each iteration's busy time into the monitors'
//!   samplers, publishes the heartbeat for the watchdog thread (`loop_watchdog`), and records the
//!   stalls that just ended with the attribution the watchdog gathered. Iterations that end in the
//!   same millisecond of libuv's cached clock (`uv_now`) as the last sample are coalesced into the
//!   next sample (a few ns each); a stall the watchdog has seen always ends in an exact sample.
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
//!   `uv_close`s the handle, and removes itself in the close callback. A worker that exits or is
//!   terminated with a monitor on leaves nothing open.
//! - `loopCurrentStall(id)` works from any thread: ids are process-wide.

use crate::napi_raw::contained;
use async_shape_core::event_loop::sampler::{LoopSampler, RecentWindow, Stall, StallRing, Watchdog};
use async_shape_core::event_loop::watchdog::{self as watchdog, LoopShared};
pub mod uv;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use uv::{Handle, Uv};

const MS: f64 = 1e6;

struct Monitor {
  sampler: LoopSampler,
  threshold: u64,
  recent: RecentWindow,
  ring: StallRing,
}

struct Hub {
  env: sys::napi_env,
  uv: &'static Uv,
  check: *mut Handle,
  timer: *mut Handle,
  running: bool,
  /// Sampling from the 1 ms timer (hot loop) instead of the check handle.
  hot: bool,
  /// Iterations coalesced since the last sample.
  coalesced: u32,
  /// Handles still to be closed at teardown.
  open_handles: u8,
  shared: Arc<LoopShared>,
  monitors: BTreeMap<u32, Monitor>,
  /// (wall, idle) at the previous sample, and libuv's cached ms clock then.
  last: (u64, u64),
  last_ms: u64,
  last_reactions: u32,
  /// The JS thread's reaction buffer `[flag, counter]` and the reference keeping it alive.
  state: *mut i32,
  state_ref: sys::napi_ref,
  cleanup: sys::napi_async_cleanup_hook_handle,
  /// The JS function told about finished stalls, and its async context.
  listener: sys::napi_ref,
  async_context: sys::napi_async_context,
}

thread_local! {
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

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Hub {
  fn counter(&self) -> u32 {
    // Same thread as the JS writes: a plain read.
    unsafe { *self.state.add(1) as u32 }
  }

  fn now_and_idle(&self) -> (u64, u64) {
    unsafe { ((self.uv.hrtime)(), (self.uv.metrics_idle_time)(self.shared.loop_ptr)) }
  }

  /// Starts or stops the check handle and the watchdog's interest as monitors come and go.
  fn refresh(&mut self) {
    let threshold = self.monitors.values().filter(|m| m.sampler.is_enabled()).map(|m| m.threshold).min();
    match (threshold, self.running) {
      (Some(_), false) => {
        let (now, idle) = self.now_and_idle();
        self.last = (now, idle);
        self.last_ms = unsafe { (self.uv.now)(self.shared.loop_ptr) };
        self.last_reactions = self.counter();
        self.shared.heartbeat(now, idle, self.last_reactions);
        unsafe { (self.uv.check_start)(self.check, on_check) };
        self.running = true;
        self.hot = false;
        self.coalesced = 0;
      }
      (None, true) => {
        unsafe {
          (self.uv.check_stop)(self.check);
          (self.uv.timer_stop)(self.timer);
        }
        self.running = false;
        self.hot = false;
      }
      _ => {}
    }
    self.shared.threshold.store(threshold.unwrap_or(u64::MAX), Ordering::Release);
    self.shared.watching.store(threshold.is_some(), Ordering::Release);
    watchdog::poke();
  }
}

/// Iterations coalesced into one sample at which the loop counts as hot.
const HOT_ITERATIONS: u32 = 32;

unsafe extern "C" fn on_check(handle: *mut Handle) {
  // SAFETY: libuv calls this on the loop's thread with a live handle made by `hub`.
  contained("the event-loop check callback", || unsafe { on_check_body(handle) });
}

unsafe fn on_check_body(handle: *mut Handle) {
  let hub = &mut *(uv::data_of(handle) as *mut Hub);
  let ms = (hub.uv.now)(hub.shared.loop_ptr);
  if ms == hub.last_ms && !hub.shared.exact_next.load(Ordering::Relaxed) {
    hub.coalesced += 1;
    return;
  }
  let hot = hub.coalesced >= HOT_ITERATIONS;
  sample(hub, ms);
  // The stall listener may have run and disabled every monitor: look at the hub afresh.
  let hub = &mut *(uv::data_of(handle) as *mut Hub);
  if hot && hub.running {
    // Many iterations per ms: sample from a 1 ms timer instead, until the loop sleeps.
    hub.hot = true;
    (hub.uv.check_stop)(hub.check);
    (hub.uv.timer_start)(hub.timer, on_timer, 1, 1);
  }
}

unsafe extern "C" fn on_timer(handle: *mut Handle) {
  // SAFETY: libuv calls this on the loop's thread with a live handle made by `hub`.
  contained("the event-loop timer callback", || unsafe { on_timer_body(handle) });
}

unsafe fn on_timer_body(handle: *mut Handle) {
  let hub = &mut *(uv::data_of(handle) as *mut Hub);
  let ms = (hub.uv.now)(hub.shared.loop_ptr);
  let idle_before = hub.last.1;
  sample(hub, ms);
  let hub = &mut *(uv::data_of(handle) as *mut Hub);
  if !hub.running {
    (hub.uv.timer_stop)(hub.timer);
  } else if hub.last.1 > idle_before {
    // The loop slept in this window: back to a sample per iteration.
    hub.hot = false;
    (hub.uv.timer_stop)(hub.timer);
    (hub.uv.check_start)(hub.check, on_check);
  }
}

/// One exact sample: the busy time since the previous one, into every enabled monitor.
unsafe fn sample(hub: &mut Hub, ms: u64) {
  hub.last_ms = ms;
  hub.coalesced = 0;
  hub.shared.exact_next.store(false, Ordering::Relaxed);
  let (now, idle) = hub.now_and_idle();
  let counter = hub.counter();
  // No JS runs in the check or timer phase: a set flag was left by a reaction that threw.
  *hub.state = 0;
  let previous = hub.last.0;
  let reactions = counter.wrapping_sub(hub.last_reactions) as u64;
  hub.last = (now, idle);
  hub.last_reactions = counter;
  hub.shared.heartbeat(now, idle, counter);
  let mut attribution = None;
  for m in hub.monitors.values_mut() {
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
  if attribution.is_some() && !hub.listener.is_null() {
    // Last: the listener may call back into this module, so no borrow of the hub is held.
    let (env, listener, context) = (hub.env, hub.listener, hub.async_context);
    notify(env, listener, context);
  }
}

/// Calls the stall listener, as an event callback: a throw is an uncaught exception.
unsafe fn notify(env: sys::napi_env, listener: sys::napi_ref, context: sys::napi_async_context) {
  let mut scope = ptr::null_mut();
  if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
    return;
  }
  let (mut func, mut recv, mut result) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
  sys::napi_get_reference_value(env, listener, &mut func);
  sys::napi_get_global(env, &mut recv);
  if !func.is_null()
    && sys::napi_make_callback(env, context, recv, func, 0, ptr::null(), &mut result) != sys::Status::napi_ok
  {
    let mut pending = false;
    sys::napi_is_exception_pending(env, &mut pending);
    if pending {
      let mut error = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env, &mut error);
      sys::napi_fatal_exception(env, error);
    }
  }
  sys::napi_close_handle_scope(env, scope);
}

unsafe extern "C" fn on_env_cleanup(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  // SAFETY: N-API calls this once, on the JS thread, with the hub registered in `hub`.
  contained("the event-loop monitor's cleanup hook", || unsafe { on_env_cleanup_body(handle, arg) });
}

unsafe fn on_env_cleanup_body(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  let hub = &mut *(arg as *mut Hub);
  hub.cleanup = handle;
  HUB.with(|h| h.set(ptr::null_mut()));
  // From here on the watchdog and other threads no longer touch this loop.
  watchdog::unregister(&hub.shared);
  index().retain(|_, (shared, _, _)| !Arc::ptr_eq(shared, &hub.shared));
  hub.shared.watching.store(false, Ordering::Release);
  if !hub.async_context.is_null() {
    sys::napi_async_destroy(hub.env, hub.async_context);
    hub.async_context = ptr::null_mut();
  }
  (hub.uv.check_stop)(hub.check);
  (hub.uv.timer_stop)(hub.timer);
  (hub.uv.close)(hub.check, Some(on_closed));
  (hub.uv.close)(hub.timer, Some(on_closed));
}

unsafe extern "C" fn on_closed(handle: *mut Handle) {
  // SAFETY: libuv calls this on the loop's thread with a live handle made by `hub`.
  contained("the event-loop close callback", || unsafe { on_closed_body(handle) });
}

unsafe fn on_closed_body(handle: *mut Handle) {
  let hub = uv::data_of(handle) as *mut Hub;
  let kind = if handle == (*hub).check { uv::UV_CHECK } else { uv::UV_TIMER };
  (*hub).uv.free(kind, handle);
  (*hub).open_handles -= 1;
  if (*hub).open_handles > 0 {
    return;
  }
  let hub = Box::from_raw(hub);
  hub.shared.set_reactions(ptr::null_mut());
  sys::napi_delete_reference(hub.env, hub.state_ref);
  if !hub.listener.is_null() {
    sys::napi_delete_reference(hub.env, hub.listener);
  }
  let cleanup = hub.cleanup;
  drop(hub);
  sys::napi_remove_async_cleanup_hook(cleanup);
}

fn status(s: sys::napi_status, what: &str) -> Result<()> {
  if s == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::from_reason(format!("async-shape: {what} failed (napi status {s})")))
  }
}

/// This thread's hub, created on first use.
unsafe fn hub(env: sys::napi_env, state: sys::napi_value, label: &str) -> Result<&'static mut Hub> {
  let existing = HUB.with(|h| h.get());
  if !existing.is_null() {
    return Ok(&mut *existing);
  }
  let uv = uv::uv().ok_or_else(|| Error::from_reason("async-shape: the host exports no libuv"))?;
  let mut loop_ptr = ptr::null_mut();
  status(sys::napi_get_uv_event_loop(env, &mut loop_ptr), "napi_get_uv_event_loop")?;
  let (mut kind, mut length, mut data, mut buffer, mut offset) = (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
  status(
    sys::napi_get_typedarray_info(env, state, &mut kind, &mut length, &mut data, &mut buffer, &mut offset),
    "reading the reaction buffer",
  )?;
  if kind != sys::TypedarrayType::int32_array || length < 2 {
    return Err(Error::new(Status::InvalidArg, "async-shape: the reaction buffer must be an Int32Array of 2"));
  }
  let mut state_ref = ptr::null_mut();
  status(sys::napi_create_reference(env, state, 1, &mut state_ref), "napi_create_reference")?;
  let shared = Arc::new(LoopShared::new(loop_ptr as *mut c_void, uv.metrics_idle_time, uv::hrtime, label.to_string()));
  shared.set_reactions(data as *mut i32);
  let hub = Box::into_raw(Box::new(Hub {
    env,
    uv,
    check: ptr::null_mut(),
    timer: ptr::null_mut(),
    running: false,
    hot: false,
    coalesced: 0,
    open_handles: 2,
    shared: shared.clone(),
    monitors: BTreeMap::new(),
    last: (0, 0),
    last_ms: 0,
    last_reactions: 0,
    state: data as *mut i32,
    state_ref,
    cleanup: ptr::null_mut(),
    listener: ptr::null_mut(),
    async_context: ptr::null_mut(),
  }));
  let check = uv.alloc(uv::UV_CHECK, hub as *mut c_void);
  (uv.check_init)(loop_ptr as *mut c_void, check);
  (uv.unref)(check);
  (*hub).check = check;
  let timer = uv.alloc(uv::UV_TIMER, hub as *mut c_void);
  (uv.timer_init)(loop_ptr as *mut c_void, timer);
  (uv.unref)(timer);
  (*hub).timer = timer;
  let mut cleanup = ptr::null_mut();
  status(
    sys::napi_add_async_cleanup_hook(env, Some(on_env_cleanup), hub as *mut c_void, &mut cleanup),
    "cleanup hook",
  )?;
  (*hub).cleanup = cleanup;
  watchdog::register(shared);
  HUB.with(|h| h.set(hub));
  Ok(&mut *hub)
}

fn this_hub() -> Result<&'static mut Hub> {
  let hub = HUB.with(|h| h.get());
  if hub.is_null() {
    Err(Error::from_reason("async-shape: no event-loop monitor on this thread"))
  } else {
    Ok(unsafe { &mut *hub })
  }
}

fn with_monitor<T>(id: u32, f: impl FnOnce(&mut Monitor, &Hub) -> T) -> Result<T> {
  let hub = this_hub()?;
  let mut m = hub.monitors.remove(&id).ok_or_else(|| Error::from_reason("async-shape: this monitor is closed"))?;
  let out = f(&mut m, hub);
  hub.monitors.insert(id, m);
  Ok(out)
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
  let hub = unsafe { hub(env.raw(), state.raw(), &label)? };
  if log_blocked {
    hub.shared.log_blocked.store(true, Ordering::Relaxed);
  }
  let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
  let threshold = (threshold_ms * MS) as u64;
  hub.monitors.insert(
    id,
    Monitor {
      sampler: LoopSampler::default(),
      threshold,
      recent: RecentWindow::new((window_ms * MS) as u64),
      ring: StallRing::new(capacity as usize),
    },
  );
  index().insert(id, (hub.shared.clone(), threshold, false));
  Ok(id)
}

fn set_enabled(id: u32, on: bool) -> Result<bool> {
  let hub = this_hub()?;
  let (now, idle) = hub.now_and_idle();
  let m = hub.monitors.get_mut(&id).ok_or_else(|| Error::from_reason("async-shape: this monitor is closed"))?;
  let changed = m.sampler.is_enabled() != on;
  if on && !m.sampler.is_enabled() {
    m.sampler.enable(now, idle);
    m.recent.start(now, idle);
  } else if !on {
    m.sampler.disable();
  }
  if let Some(entry) = index().get_mut(&id) {
    entry.2 = on;
  }
  hub.refresh();
  Ok(changed)
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

/// `[count, min, max, mean, stddev]` of the busy time per iteration, in ns.
#[napi(js_name = "loopStats", catch_unwind)]
pub fn loop_stats(id: u32) -> Result<Vec<f64>> {
  with_monitor(id, |m, _| {
    let h = m.sampler.histogram();
    vec![h.count() as f64, h.min() as f64, h.max() as f64, h.mean(), h.stddev()]
  })
}

#[napi(js_name = "loopPercentile", catch_unwind)]
pub fn loop_percentile(id: u32, p: f64) -> Result<f64> {
  with_monitor(id, |m, _| m.sampler.histogram().percentile(p) as f64)
}

/// The percentile distribution as `[p, value, p, value, ...]`: 0, 50, 75, 87.5, ... as in
/// HdrHistogram's percentile iteration (what `IntervalHistogram#percentiles` lists), then 100.
#[napi(js_name = "loopPercentiles", catch_unwind)]
pub fn loop_percentiles(id: u32) -> Result<Vec<f64>> {
  with_monitor(id, |m, _| {
    let h = m.sampler.histogram();
    let mut out = Vec::new();
    if h.count() == 0 {
      return vec![100.0, 0.0];
    }
    out.extend([0.0, h.min() as f64]);
    let mut p = 50.0;
    loop {
      let v = h.percentile(p);
      out.extend([p, v as f64]);
      if v >= h.max() || p > 99.9999 {
        break;
      }
      p += (100.0 - p) / 2.0;
    }
    out.extend([100.0, h.max() as f64]);
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

/// `[recent max ns, recent utilization, busy so far in this iteration ns]`.
#[napi(js_name = "loopRecent", catch_unwind)]
pub fn loop_recent(id: u32) -> Result<Vec<f64>> {
  with_monitor(id, |m, hub| {
    let (now, idle) = hub.now_and_idle();
    let busy = if m.sampler.is_enabled() { Watchdog::busy_since(hub.last, now, idle) } else { 0 };
    vec![m.recent.max(now) as f64, m.recent.utilization(now, idle), busy as f64]
  })
}

#[napi(object)]
pub struct LoopStall {
  /// Position in the monitor's sequence of stalls (1 = the first).
  pub index: f64,
  /// When it started, in ns on the hrtime clock.
  pub start: f64,
  pub duration: f64,
  pub kind: String,
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
        kind: s.kind.name().to_string(),
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
    kind: stall.attribution.classify(stall.reactions).name().to_string(),
    reactions: stall.reactions as f64,
    microtask_share: stall.attribution.microtask_share(stall.reactions),
  })
}

/// Sets the function this thread's hub calls (from the check callback, after the loop resumed)
/// when stalls ended.
#[napi(js_name = "loopSetListener", catch_unwind)]
pub fn loop_set_listener(env: Env, callback: Function<(), ()>) -> Result<()> {
  let hub = this_hub()?;
  if hub.listener.is_null() {
    unsafe {
      let mut name = ptr::null_mut();
      status(
        sys::napi_create_string_utf8(env.raw(), c"async-shape:stall".as_ptr(), 17, &mut name),
        "napi_create_string_utf8",
      )?;
      status(sys::napi_async_init(env.raw(), ptr::null_mut(), name, &mut hub.async_context), "napi_async_init")?;
      status(sys::napi_create_reference(env.raw(), callback.raw(), 1, &mut hub.listener), "napi_create_reference")?;
    }
  }
  Ok(())
}

#[napi(js_name = "loopClose", catch_unwind)]
pub fn loop_close(id: u32) -> Result<()> {
  index().remove(&id);
  if let Ok(hub) = this_hub() {
    hub.monitors.remove(&id);
    hub.refresh();
  }
  Ok(())
}

/// Live monitors on this thread (for leak tests).
#[napi(js_name = "loopMonitorCount", catch_unwind)]
pub fn loop_monitor_count() -> u32 {
  this_hub().map_or(0, |h| h.monitors.len() as u32)
}

/// Benchmark probe: ns per check callback on this thread's hub, `[hot path, exact sample]`, over
/// `n` direct calls each (the hot path: an iteration in the same ms as the last sample).
#[napi(js_name = "loopSampleCost", catch_unwind)]
pub fn loop_sample_cost(n: u32) -> Result<Vec<f64>> {
  let hub: *mut Hub = this_hub()?;
  if unsafe { !(*hub).running || (*hub).hot } {
    return Err(Error::from_reason("async-shape: enable a monitor first, on a loop that is not hot"));
  }
  let (check, shared) = unsafe { ((*hub).check, Arc::clone(&(*hub).shared)) };
  let time = |force: bool| {
    let t0 = uv::hrtime();
    for _ in 0..n {
      unsafe {
        // Not hot: the probe's calls must not switch the hub to its timer.
        (*hub).coalesced = 0;
        if force {
          shared.exact_next.store(true, Ordering::Relaxed);
        }
        on_check(check);
      }
    }
    (uv::hrtime() - t0) as f64 / n as f64
  };
  time(false);
  Ok(vec![time(false), time(true)])
}

/// Diagnostics for tests: `[running, hot]` of this thread's hub.
#[napi(js_name = "loopMode", catch_unwind)]
pub fn loop_mode() -> Vec<bool> {
  this_hub().map_or(vec![false, false], |h| vec![h.running, h.hot])
}
