//! The fleet room's binding: a pool whose limit is shared by a fleet of processes through Redis
//! (`createPool`'s `shared`), over the core's client and ledger (`core/src/fleet/`).
//!
//! # The native contract (what `lib/fleet/**` and `lib/pool/*.js` call)
//!
//! `createPool(concurrency, tracked, onBatch?, adaptive?, shared?)`. With `shared` (a plain
//! object the JS layer validated), `concurrency` is the FLEET limit: an integer in 1..2^31, the
//! same in every process of the fleet (the script takes it from each call). `shared`:
//! - `url: string`: `redis[s]://[user[:password]@]host[:port][/db]` (`rediss://`: TLS); any
//!   other scheme, a `#fragment`, or a URL the client cannot parse throws a TypeError naming
//!   `shared.redis` (the user's option the JS layer passes as `url`), synchronously.
//! - optional `tls: {ca?: string, rejectUnauthorized?: boolean}` (only with `rediss://`, else a
//!   TypeError naming `shared.tls`): `ca`, PEM certificates trusted instead of the bundled roots
//!   (webpki-roots, Mozilla's list: Node's default); a `ca` without a certificate throws a
//!   TypeError naming `shared.tls.ca`. `rejectUnauthorized: false`: no certificate check. The
//!   name checked is the URL's host. A certificate the client does not trust, or a server that
//!   does not speak TLS, is a permanent failure: `ready()` rejects at once (message: URL, TLS).
//! - `key: string` (non-empty): the limiter's name; keys are `async-shape:{key}:…` (one hash
//!   tag: Redis Cluster safe).
//! - `leaseMs: number`: the lease's TTL, an integer in 100..=2^31-1 (else RangeError).
//! - `onStoreDown: number`: `room('fleet').STORE_DOWN_WAIT` or `STORE_DOWN_LOCAL`.
//! - `localConcurrency: number`: the local limit under `STORE_DOWN_LOCAL` (≥ 1; Infinity allowed).
//! - `onEvent: (kind: number, detail?: string) => void`: called from the JS thread, once per
//!   event, outside any other native call, with `kind` one of `EVENT_STORE_DOWN` (detail: the
//!   cause; only after the store was up: before the first connection `ready()` tells),
//!   `EVENT_STORE_UP` (after a `STORE_DOWN`), `EVENT_LEASE_LOST` (the pool starts nothing until registered
//!   again; JS aborts the signals of the running tasks), `EVENT_LEASE_REGAINED`, `EVENT_FATAL`
//!   (detail: the message; JS rejects every queued task and every later one with it). Held by a
//!   WEAK reference, like `onBatch`: JS must keep it reachable (store it on the pool object).
//!   What it throws is reported as an uncaught exception.
//! - optional `lingerMs: number` (default 50): how long idle permits are kept before going back
//!   when no other process waits; optional `quantumMs: number` (default 10): how long a process
//!   keeps re-using its permits for its own queued tasks once another process waits (counted from
//!   when it saw them wait, or from its last grant), before freed permits go back to the fleet
//!   queue (0: at once; larger: fewer round trips, longer waits for the others); optional
//!   `connectTimeoutMs: number` (default 5000). All integers ≥ 0 (RangeError otherwise).
//! - optional `loopFlush: boolean` (default false): the host's libuv runs this env's loop (Node,
//!   not Bun or Deno, whose `uv_*` exports are stubs that abort), so news for the client can wait
//!   for the end of the loop phase (`Flush`); otherwise the client is poked at once.
//!
//! A shared pool's object has the local pool's functions, unchanged (per task there is no extra
//! crossing: the binding consults the permit count in Rust when it decides a start), plus:
//! - `fleetStats()`: a Float64Array of `STAT_LEN` numbers laid out as `room('fleet').STAT_*`
//!   (limit, held, holders, fleetInFlight, fleetQueue, storeUp, leaseRemainingMs, grants,
//!   roundTrips, maxWaitMs, fenced, returned, ready).
//! - `ready()`: a promise that resolves (undefined) once the process is registered (the first
//!   script call succeeded), and rejects with an Error whose message names the URL (password
//!   masked) and the cause on a permanent failure (WRONGPASS/NOAUTH/NOPERM, a script error) or
//!   when no connection succeeded within the connect timeout (the client keeps trying: tasks
//!   still start if Redis comes later). Each call makes a new promise.
//! - `close()`: a promise that resolves (undefined) once the permits are returned, the process
//!   unregistered and the connections closed (or at once if Redis cannot be reached: its lease
//!   then expires). After `close()` nothing starts (the cap is 0); JS clears the queue.
//!
//! The local functions keep their meaning: `concurrency()`/`setConcurrency(c)` are the LOCAL
//! limit (the effective limit is `min(local limit, permits held)`; the fleet limit is fixed at
//! creation), `active()`/`pending()` count this process's tasks. `stats()` is unchanged (fleet
//! figures are in `fleetStats()`). The `priority` of `submit` orders the fleet queue too (a
//! process queues with the priority of its first queued task when it joins or re-joins).
//!
//! A local pool's object is unchanged (no fleet functions).
//!
//! # How it works
//! The core's `Fleet` client runs on a thread of its own (a current-thread tokio runtime, see
//! `core/src/fleet/client.rs`). The JS thread and that thread share the ledger
//! (`core/src/fleet/ledger.rs`): before and after each pool call the binding copies the ledger's
//! cap into the scheduler (`PoolCore::set_permits`) and reports the demand and the permits the
//! scheduler gave back. The client hears of it at the end of the event-loop phase (`Flush`: an
//! unref'd prepare and check handle), so the permits given back in one phase (the finishes of
//! one timer tick, of one poll) go in one script call; it keeps one call in flight, and what
//! piles up meanwhile goes together in the next one. (Poked at each change, it sent the first
//! release of a phase alone and the rest a round trip later, or each alone while the JS thread
//! stayed busy: `__test__/fleet-flush.test.js` saw eight calls for eight releases.)
//!
//! Wake-ups of the JS thread: ONE ThreadsafeFunction per shared pool, without a JS function
//! (its `call_js` callback is native). Chosen over a raw `uv_async_t` because N-API then runs
//! the callback inside a callback scope (microtasks and nextTicks run after it, as after any
//! native callback; an exception becomes an uncaught exception) and tears it down with the
//! env; a `uv_async_t` would need its own async context, callback scope and close handling. It
//! coalesces as uv_async does: an atomic flag makes at most one call pending at a time, so one
//! batch of grants is one wake-up. It is ref'd only while local tasks wait for permits (or
//! `ready()`/`close()` promises are pending), unref'd otherwise.
//!
//! Exit: an env cleanup hook closes the client and waits at most 200 ms for it (permits go
//! back, the runtime thread stops). `process.exit()` and an uncaught exception end the process
//! without running env cleanup hooks, so an `atexit` handler does the same for every live
//! shared pool of the process (200 ms in all). After a SIGKILL (or a signal's default action)
//! the lease's expiry returns them.
//!
//! TLS: rustls (tokio-rustls) with ring's crypto, run by `core/src/fleet/client.rs` under the
//! `redis` crate's connections (its own TLS feature would link the macOS Security framework);
//! ring's build script compiles C for the target, so cross checks point Cargo's C compiler at zig
//! (`scripts/setup-cross.sh check-env`).

use async_shape_core::fleet::client::{redacted, Config, ConfigError, Fleet, Tls};
use async_shape_core::fleet::ledger::{Readiness, Settings};
use async_shape_core::fleet::wire::{STAT_LEN, STORE_DOWN_LOCAL, STORE_DOWN_WAIT};
use async_shape_core::now_ns;
use async_shape_core::pool::scheduler::PoolCore;
use napi::sys;
use std::cell::Cell;
use std::ffi::{c_void, CString};
use std::ptr;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::napi_raw::{
  bool_of, check, js_check, new_promise, throw_range_error, throw_type_error, undefined, FirstThrow, JsResult, Thrown,
};

/// `shared.quantumMs`'s default (see the contract).
const DEFAULT_QUANTUM_MS: f64 = 10.0;

/// How long the env cleanup hook waits for the permits to go back.
const EXIT_BOUND: Duration = Duration::from_millis(200);

/// Every shared pool's client in the process, for the `atexit` handler.
static LIVE: Mutex<Vec<std::sync::Weak<Fleet>>> = Mutex::new(Vec::new());

extern "C" {
  /// The C library's `atexit` (every platform's libc and msvcrt have it).
  fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

/// Runs at `exit()` (`process.exit()`, an uncaught exception, the end of the main thread):
/// closes every live client, waiting `EXIT_BOUND` in all.
extern "C" fn on_process_exit() {
  crate::napi_raw::contained("the fleet's atexit handler", || {
    let fleets: Vec<Arc<Fleet>> =
      LIVE.lock().unwrap_or_else(|e| e.into_inner()).iter().filter_map(|w| w.upgrade()).collect();
    for f in &fleets {
      f.close();
    }
    let until = std::time::Instant::now() + EXIT_BOUND;
    for f in &fleets {
      f.shutdown(until.saturating_duration_since(std::time::Instant::now()));
    }
  });
}

/// Remembers a live client for the `atexit` handler (registered once).
fn register_for_exit(fleet: &Arc<Fleet>) {
  static REGISTERED: std::sync::Once = std::sync::Once::new();
  REGISTERED.call_once(|| {
    // SAFETY: `on_process_exit` is a plain `extern "C" fn()` that stays loaded (Node never
    // unloads an addon) and unwinds nothing (`contained`).
    unsafe { atexit(on_process_exit) };
  });
  let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
  live.retain(|w| w.strong_count() > 0);
  live.push(Arc::downgrade(fleet));
}

/// What the pool binding implements for the wake-up callback: start what the ledger allows,
/// deliver events, settle `ready()`/`close()` promises.
pub(crate) trait Pump {
  /// # Safety
  /// `env` is the pool's env, on its JS thread, inside a callback scope N-API opened.
  unsafe fn pump(&self, env: sys::napi_env);
}

/// A ThreadsafeFunction handle: N-API's thread-safe functions may be called from any thread.
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: `napi_call_threadsafe_function` is made to be called from any thread; the handle is
// only used while `WakeTarget::tsfn` holds it (see `WakeTarget`).
unsafe impl Send for Tsfn {}

/// Where the runtime thread's wake-ups go. `tsfn` is `Some` while the ThreadsafeFunction lives:
/// the JS thread takes it out (under the lock) before releasing it, and its finalizer clears it,
/// so no call reaches a released function.
struct WakeTarget {
  tsfn: Mutex<Option<Tsfn>>,
  /// A wake-up is pending (set by the runtime thread, cleared by the callback): one call at a
  /// time, so wake-ups coalesce.
  pending: AtomicBool,
}

impl WakeTarget {
  fn wake(&self) {
    if self.pending.swap(true, Ordering::AcqRel) {
      return;
    }
    let guard = self.tsfn.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = guard.as_ref() {
      // SAFETY: the function is alive while the lock holds it (see `WakeTarget`); the call is
      // non-blocking and takes no data. A failure (the env is closing, napi_closing) just means
      // nobody is woken.
      unsafe { sys::napi_call_threadsafe_function(t.0, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
    }
  }
}

/// The ThreadsafeFunction's context: the pool (weak: the pool's functions own it) and the
/// target (to clear it when N-API finalizes the function).
struct TsfnContext {
  pool: Weak<dyn Pump>,
  target: Arc<WakeTarget>,
}

/// The env cleanup hook's data.
struct Hook {
  fleet: Arc<Fleet>,
  /// Set when the hook ran (it freed itself then).
  ran: Arc<AtomicBool>,
}

/// A shared pool's fleet side, held by its `PoolCell`.
pub(crate) struct FleetBinding {
  pub fleet: Arc<Fleet>,
  target: Arc<WakeTarget>,
  env: sys::napi_env,
  /// Weak reference to `onEvent`.
  on_event: sys::napi_ref,
  ready_waiters: std::cell::RefCell<Vec<sys::napi_deferred>>,
  close_waiters: std::cell::RefCell<Vec<sys::napi_deferred>>,
  refd: std::cell::Cell<bool>,
  hook: *mut Hook,
  hook_ran: Arc<AtomicBool>,
  /// Sends the ledger's news at the end of the loop phase (None without the host's libuv: then
  /// at once).
  flush: Option<Rc<Flush>>,
}

/// The parsed `shared` option.
pub(crate) struct Shared {
  config: Config,
  on_event: sys::napi_value,
  /// `loopFlush`: the host's libuv runs the loop.
  loop_flush: bool,
}

/// Reads `shared.<name>` (a raw property get: the JS layer passes a plain object).
///
/// # Safety
/// `env` is the env of the running call, `obj` a value of its scope.
unsafe fn property(env: sys::napi_env, obj: sys::napi_value, name: &std::ffi::CStr) -> JsResult<sys::napi_value> {
  let mut v = ptr::null_mut();
  // SAFETY: the contract; `name` is NUL-terminated.
  let status = unsafe { sys::napi_get_named_property(env, obj, name.as_ptr(), &mut v) };
  // SAFETY: the contract. A getter may throw: that exception propagates.
  unsafe { js_check(env, status, "napi_get_named_property") }?;
  Ok(v)
}

/// # Safety
/// `env` is the env of the running call, `v` a value of its scope.
unsafe fn type_of(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
  let mut t = 0;
  // SAFETY: the contract.
  check(unsafe { sys::napi_typeof(env, v, &mut t) }, "napi_typeof");
  t
}

/// A JS string's UTF-8 content, or None if `v` is no string.
///
/// # Safety
/// `env` is the env of the running call, `v` a value of its scope.
unsafe fn string_of(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
  // SAFETY: the contract.
  if unsafe { type_of(env, v) } != sys::ValueType::napi_string {
    return None;
  }
  let mut len = 0;
  // SAFETY: the contract; a null buffer asks for the length.
  check(unsafe { sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len) }, "string length");
  let mut buf = vec![0u8; len + 1];
  // SAFETY: the contract; `buf` has room for `len` bytes and the NUL.
  check(
    unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut len) },
    "string content",
  );
  buf.truncate(len);
  String::from_utf8(buf).ok()
}

/// A number property in `range` (integers only when `integer`), or a thrown RangeError/TypeError
/// naming it. `default` when it is undefined (None: required).
///
/// # Safety
/// `env` is the env of the running call, `obj` a value of its scope.
unsafe fn number(
  env: sys::napi_env,
  obj: sys::napi_value,
  name: &std::ffi::CStr,
  range: std::ops::RangeInclusive<f64>,
  default: Option<f64>,
) -> JsResult<f64> {
  // SAFETY: the contract.
  unsafe {
    let v = property(env, obj, name)?;
    let t = type_of(env, v);
    if t == sys::ValueType::napi_undefined {
      if let Some(d) = default {
        return Ok(d);
      }
    }
    let label = name.to_string_lossy();
    if t != sys::ValueType::napi_number {
      let message = CString::new(format!("Expected `shared.{label}` to be a number")).expect("no NUL");
      throw_type_error(env, &message);
      return Err(Thrown);
    }
    let mut x = 0.0;
    check(sys::napi_get_value_double(env, v, &mut x), "napi_get_value_double");
    if !range.contains(&x) || (x.is_finite() && x.fract() != 0.0) {
      let message = CString::new(format!(
        "Expected `shared.{label}` to be an integer from {} to {}, got {x}",
        range.start(),
        range.end()
      ))
      .expect("no NUL");
      throw_range_error(env, &message);
      return Err(Thrown);
    }
    Ok(x)
  }
}

/// Reads `shared.tls` (undefined, or `{ca?: string, rejectUnauthorized?: boolean}`, checked by
/// the JS layer; the client checks the PEM). Throws a TypeError naming the field otherwise.
///
/// # Safety
/// `env` is the env of the running call, `tls` a value of its scope.
unsafe fn tls_of(env: sys::napi_env, tls: sys::napi_value) -> JsResult<Option<Tls>> {
  // SAFETY: the contract, for every call below.
  unsafe {
    match type_of(env, tls) {
      sys::ValueType::napi_undefined => return Ok(None),
      sys::ValueType::napi_object => {}
      _ => {
        throw_type_error(env, c"Expected `shared.tls` to be an object");
        return Err(Thrown);
      }
    }
    let mut out = Tls::default();
    let ca = property(env, tls, c"ca")?;
    if type_of(env, ca) != sys::ValueType::napi_undefined {
      let Some(ca) = string_of(env, ca) else {
        throw_type_error(env, c"Expected `shared.tls.ca` to be a string (PEM certificates)");
        return Err(Thrown);
      };
      out.ca = Some(ca);
    }
    let reject = property(env, tls, c"rejectUnauthorized")?;
    if type_of(env, reject) != sys::ValueType::napi_undefined {
      let Some(reject) = bool_of(env, reject) else {
        throw_type_error(env, c"Expected `shared.tls.rejectUnauthorized` to be a boolean");
        return Err(Thrown);
      };
      out.reject_unauthorized = reject;
    }
    Ok(Some(out))
  }
}

/// Parses and checks `createPool`'s `shared` for the fleet limit `concurrency`. Throws (a
/// TypeError or RangeError naming the field) and returns `Err` on bad input.
///
/// # Safety
/// `env` is the env of the running call, `shared` a value of its scope.
pub(crate) unsafe fn parse(env: sys::napi_env, concurrency: f64, shared: sys::napi_value) -> JsResult<Shared> {
  // SAFETY: the contract, for every call below.
  unsafe {
    if type_of(env, shared) != sys::ValueType::napi_object {
      throw_type_error(env, c"Expected `shared` to be an object");
      return Err(Thrown);
    }
    if !(1.0..=2_147_483_647.0).contains(&concurrency) || concurrency.fract() != 0.0 {
      throw_range_error(env, c"Expected `concurrency` of a shared pool to be an integer from 1 to 2147483647");
      return Err(Thrown);
    }
    let Some(url) = string_of(env, property(env, shared, c"url")?) else {
      throw_type_error(env, c"Expected `shared.redis` to be a string");
      return Err(Thrown);
    };
    let key = string_of(env, property(env, shared, c"key")?).filter(|k| !k.is_empty());
    let Some(key) = key else {
      throw_type_error(env, c"Expected `shared.key` to be a non-empty string");
      return Err(Thrown);
    };
    let lease_ms = number(env, shared, c"leaseMs", 100.0..=2_147_483_647.0, None)?;
    let on_store_down = number(env, shared, c"onStoreDown", 0.0..=1.0, None)? as u32;
    debug_assert!(on_store_down == STORE_DOWN_WAIT || on_store_down == STORE_DOWN_LOCAL);
    let local = number(env, shared, c"localConcurrency", 1.0..=f64::INFINITY, Some(1.0))?;
    let linger_ms = number(env, shared, c"lingerMs", 0.0..=2_147_483_647.0, Some(50.0))?;
    let quantum_ms = number(env, shared, c"quantumMs", 0.0..=2_147_483_647.0, Some(DEFAULT_QUANTUM_MS))?;
    let connect_ms = number(env, shared, c"connectTimeoutMs", 1.0..=2_147_483_647.0, Some(5000.0))?;
    let on_event = property(env, shared, c"onEvent")?;
    if type_of(env, on_event) != sys::ValueType::napi_function {
      throw_type_error(env, c"Expected `shared.onEvent` to be a function");
      return Err(Thrown);
    }
    let tls = tls_of(env, property(env, shared, c"tls")?)?;
    let loop_flush = bool_of(env, property(env, shared, c"loopFlush")?).unwrap_or(false);
    let config = Config {
      tls,
      url,
      key,
      settings: Settings {
        limit: concurrency as u32,
        lease_ns: lease_ms as u64 * 1_000_000,
        on_store_down,
        local_concurrency: if local.is_finite() { local.min(f64::from(u32::MAX)) as u32 } else { u32::MAX },
        linger_ns: linger_ms as u64 * 1_000_000,
        quantum_ns: quantum_ms as u64 * 1_000_000,
      },
      connect_timeout: Duration::from_millis(connect_ms as u64),
    };
    Ok(Shared { config, on_event, loop_flush })
  }
}

/// The wake-up callback (`call_js` of the pool's ThreadsafeFunction).
///
/// # Safety
/// N-API calls it on the JS thread with the function's context (a `TsfnContext`), or with a
/// null env while the env tears down.
unsafe extern "C" fn on_wake(env: sys::napi_env, _js: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  crate::napi_raw::contained("the fleet's wake-up", || {
    if env.is_null() || context.is_null() {
      return;
    }
    // SAFETY: the context is the `TsfnContext` made for this function, freed only by its
    // finalizer, which runs after the last call.
    let ctx = unsafe { &*context.cast::<TsfnContext>() };
    ctx.target.pending.store(false, Ordering::Release);
    if let Some(pool) = ctx.pool.upgrade() {
      // SAFETY: the pool's env, on its JS thread, in N-API's callback scope.
      unsafe { pool.pump(env) };
    }
  });
}

/// The ThreadsafeFunction's finalizer: no call reaches it any more.
///
/// # Safety
/// N-API calls it once, on the JS thread, with the function's context.
unsafe extern "C" fn tsfn_finalized(_env: sys::napi_env, _data: *mut c_void, context: *mut c_void) {
  crate::napi_raw::contained("the fleet's wake-up finalizer", || {
    // SAFETY: the `TsfnContext` leaked for this function, freed once, here.
    let ctx = unsafe { Box::from_raw(context.cast::<TsfnContext>()) };
    ctx.target.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
  });
}

/// The env cleanup hook: close, waiting at most `EXIT_BOUND` for the permits to go back.
///
/// # Safety
/// Node calls it once, with the `Hook` registered for it, unless it was removed.
unsafe extern "C" fn on_env_exit(arg: *mut c_void) {
  crate::napi_raw::contained("the fleet's exit hook", || {
    // SAFETY: the `Hook` leaked for this registration; freed here, once (the pool's drop sees
    // `ran` and does not free or remove it again).
    let hook = unsafe { Box::from_raw(arg.cast::<Hook>()) };
    hook.ran.store(true, Ordering::Release);
    hook.fleet.shutdown(EXIT_BOUND);
  });
}

/// Sends the ledger's news to the client at the end of the event-loop phase it was made in: one
/// unref'd prepare handle and one unref'd check handle, both started by the first change of a
/// phase, both stopped by whichever runs first. So the finishes of one timer tick (or the I/O
/// callbacks of one poll) give their permits back in one script call: poked at the first one,
/// the client sent that release alone and the rest a round trip later, and the rest's hand-off
/// waited for that round trip. Releases made in the timers phase go after it (prepare), those
/// of the poll phase after it (check), those of the check and close phases after the next
/// timers phase. The loop never waits for them: prepare runs before the poll phase can block.
/// The first change of a phase also tells the client to wait for the phase's end
/// (`Fleet::hold_back`), at most `client::HOLD_BACK` (1 ms, 2 at tokio's timer resolution): a JS
/// thread that stays busy in one phase (or JS run outside the loop, as an embedder may) holds its
/// news no longer than that.
///
/// Lifetime: the binding holds one `Rc`, the two handles another (their `data`), given up in
/// the last close callback, which also removes the env's async cleanup hook (it closes the
/// handles when the env is torn down first, as a worker that exits). Everything here runs on
/// the env's JS thread.
struct Flush {
  uv: &'static crate::event_loop::uv::Uv,
  fleet: Arc<Fleet>,
  prepare: Cell<*mut crate::event_loop::uv::Handle>,
  check: Cell<*mut crate::event_loop::uv::Handle>,
  armed: Cell<bool>,
  closing: Cell<bool>,
  open: Cell<u8>,
  cleanup: Cell<sys::napi_async_cleanup_hook_handle>,
}

impl Flush {
  /// The handles on `env`'s loop, or None (no host libuv, no loop, no cleanup hook: the binding
  /// then pokes at once).
  ///
  /// # Safety
  /// `env` is the env of the running call, on its JS thread.
  unsafe fn new(env: sys::napi_env, fleet: &Arc<Fleet>) -> Option<Rc<Flush>> {
    use crate::event_loop::uv::{self, HandleKind};
    let uv = uv::uv()?;
    let mut loop_ptr = ptr::null_mut();
    // SAFETY: the contract; `loop_ptr` is a valid out place.
    let status = unsafe { sys::napi_get_uv_event_loop(env, &mut loop_ptr) };
    if status != sys::Status::napi_ok || loop_ptr.is_null() {
      return None;
    }
    let flush = Rc::new(Flush {
      uv,
      fleet: Arc::clone(fleet),
      prepare: Cell::new(ptr::null_mut()),
      check: Cell::new(ptr::null_mut()),
      armed: Cell::new(false),
      closing: Cell::new(false),
      open: Cell::new(2),
      cleanup: Cell::new(ptr::null_mut()),
    });
    // The handles' count, given up in the last close callback.
    let raw = Rc::into_raw(Rc::clone(&flush)) as *mut c_void;
    let prepare = uv.alloc(HandleKind::Prepare, raw);
    let check = uv.alloc(HandleKind::Check, raw);
    // SAFETY: `loop_ptr` is this thread's live loop; the handles are fresh zeroed handles of their
    // types' sizes, initialized once each (these init functions cannot fail).
    unsafe {
      let status = (uv.prepare_init)(loop_ptr.cast(), prepare);
      debug_assert_eq!(status, 0, "uv_prepare_init");
      (uv.unref)(prepare);
      let status = (uv.check_init)(loop_ptr.cast(), check);
      debug_assert_eq!(status, 0, "uv_check_init");
      (uv.unref)(check);
    }
    flush.prepare.set(prepare);
    flush.check.set(check);
    let mut cleanup = ptr::null_mut();
    // SAFETY: the contract; `raw` stays valid while the hook is registered: the last close
    // callback gives the handles' count up and then removes the hook, on this thread, with
    // nothing in between that could run it.
    let added = unsafe { sys::napi_add_async_cleanup_hook(env, Some(on_flush_cleanup), raw, &mut cleanup) };
    if added != sys::Status::napi_ok {
      // Out of memory: close the handles again (their callbacks free them and the count).
      flush.close();
      return None;
    }
    flush.cleanup.set(cleanup);
    Some(flush)
  }

  /// Something new for the client: it goes at the end of this phase.
  /// Called on each fresh change (the ledger's `dirty` rising: at most once per script call).
  fn arm(&self) {
    if self.closing.get() {
      self.fleet.poke();
      return;
    }
    // The client waits for `fire`, at most `HOLD_BACK`: a JS thread that stays busy in this phase
    // does not hold the news longer. Told at every fresh change, not only the phase's first: the
    // client may have sent that one already (after the bound) and cleared `dirty`.
    self.fleet.hold_back();
    if self.armed.replace(true) {
      return;
    }
    // SAFETY: initialized handles of this loop, not closing (checked above); these fail only
    // for a closing handle or a null callback.
    unsafe {
      let status = (self.uv.prepare_start)(self.prepare.get(), on_flush);
      debug_assert_eq!(status, 0, "uv_prepare_start");
      let status = (self.uv.check_start)(self.check.get(), on_flush);
      debug_assert_eq!(status, 0, "uv_check_start");
    }
  }

  /// The end of the phase: poke the client.
  fn fire(&self) {
    if self.armed.replace(false) && !self.closing.get() {
      // SAFETY: as in `arm`.
      unsafe {
        let status = (self.uv.prepare_stop)(self.prepare.get());
        debug_assert_eq!(status, 0, "uv_prepare_stop");
        let status = (self.uv.check_stop)(self.check.get());
        debug_assert_eq!(status, 0, "uv_check_stop");
      }
    }
    self.fleet.poke();
  }

  /// Closes the handles (once); what they held back goes at once.
  fn close(&self) {
    if self.closing.replace(true) {
      return;
    }
    let armed = self.armed.replace(false);
    for handle in [self.prepare.get(), self.check.get()] {
      // SAFETY: initialized handles of this loop, closed once (`closing`); closing stops them.
      unsafe { (self.uv.close)(handle, Some(on_flush_closed)) };
    }
    if armed {
      self.fleet.poke();
    }
  }
}

/// Both handles' callback.
///
/// # Safety
/// libuv calls it on the loop's thread with a started handle of a `Flush`.
unsafe extern "C" fn on_flush(handle: *mut crate::event_loop::uv::Handle) {
  crate::napi_raw::contained("the fleet's flush", || {
    // SAFETY: the handle's `data` is its `Flush`, alive until the last close callback.
    let flush = unsafe { &*(crate::event_loop::uv::data_of(handle) as *const Flush) };
    flush.fire();
  });
}

/// The env's async cleanup hook: the env goes away before the pool was collected.
///
/// # Safety
/// N-API calls it once, on the JS thread, with the `Flush` it was registered with.
unsafe extern "C" fn on_flush_cleanup(handle: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  crate::napi_raw::contained("the fleet's flush cleanup hook", || {
    // SAFETY: the contract; `arg` is alive until the last close callback, which removes this hook.
    let flush = unsafe { &*(arg as *const Flush) };
    flush.cleanup.set(handle);
    flush.close();
  });
}

/// A handle's close callback: frees it; the last one gives the handles' count up and removes
/// the cleanup hook.
///
/// # Safety
/// libuv calls it once per handle, on the loop's thread, after `Flush::close`.
unsafe extern "C" fn on_flush_closed(handle: *mut crate::event_loop::uv::Handle) {
  use crate::event_loop::uv::{self, HandleKind};
  crate::napi_raw::contained("the fleet's flush close callback", || {
    // SAFETY: the handle's `data` is its `Flush`, alive until the count is given up below.
    let raw = unsafe { uv::data_of(handle) } as *const Flush;
    let cleanup = {
      // SAFETY: as above; not used after this block.
      let flush = unsafe { &*raw };
      let kind = if handle == flush.prepare.get() { HandleKind::Prepare } else { HandleKind::Check };
      // SAFETY: `handle` came from `uv.alloc(kind, _)` and libuv is done with it (its close
      // callback runs); nothing reads it after this.
      unsafe { flush.uv.free(kind, handle) };
      flush.open.set(flush.open.get() - 1);
      if flush.open.get() > 0 {
        return;
      }
      flush.cleanup.replace(ptr::null_mut())
    };
    // SAFETY: the count `Flush::new` made with `Rc::into_raw`, given up once, here.
    drop(unsafe { Rc::from_raw(raw) });
    if !cleanup.is_null() {
      // SAFETY: the hook handle of this env's registration, removed once, last.
      let status = unsafe { sys::napi_remove_async_cleanup_hook(cleanup) };
      debug_assert_eq!(status, sys::Status::napi_ok, "napi_remove_async_cleanup_hook");
    }
  });
}

impl FleetBinding {
  /// Starts the client for a pool; `pool` is the pool's weak handle for the wake-ups. Throws
  /// (TypeError on a refused URL) and returns `Err` on failure.
  ///
  /// # Safety
  /// `env` is the env of the running call (`createPool`), on its JS thread.
  pub(crate) unsafe fn start(env: sys::napi_env, shared: Shared) -> JsResult<FleetBinding> {
    let target = Arc::new(WakeTarget { tsfn: Mutex::new(None), pending: AtomicBool::new(true) });
    let wake_target = Arc::clone(&target);
    let url = shared.config.url.clone();
    let fleet = match Fleet::start(shared.config, Box::new(move || wake_target.wake())) {
      Ok(f) => Arc::new(f),
      Err(e) => {
        let message = match e {
          ConfigError::Url(why) => {
            format!("Expected `shared.redis` to be a redis:// or rediss:// URL ({why}): {}", redacted(&url))
          }
          ConfigError::Tls(why) => format!("Invalid `shared.tls` for {}: {why}", redacted(&url)),
          ConfigError::Ca(why) => format!("Expected `shared.tls.ca` to be PEM certificates, but it {why}"),
        };
        let message = CString::new(message).unwrap_or_else(|_| c"Invalid `shared.redis` or `shared.tls`".into());
        // SAFETY: the contract.
        unsafe { throw_type_error(env, &message) };
        return Err(Thrown);
      }
    };
    register_for_exit(&fleet);
    let mut on_event = ptr::null_mut();
    // SAFETY: the contract; `on_event` is a value of this call. Weak (count 0): see the contract.
    check(unsafe { sys::napi_create_reference(env, shared.on_event, 0, &mut on_event) }, "napi_create_reference");
    let ran = Arc::new(AtomicBool::new(false));
    let hook = Box::into_raw(Box::new(Hook { fleet: Arc::clone(&fleet), ran: Arc::clone(&ran) }));
    // SAFETY: the contract; `hook` stays valid until the hook runs (it frees it) or the pool
    // removes it (and frees it).
    check(unsafe { sys::napi_add_env_cleanup_hook(env, Some(on_env_exit), hook.cast()) }, "napi_add_env_cleanup_hook");
    // SAFETY: the contract.
    let flush = if shared.loop_flush { unsafe { Flush::new(env, &fleet) } } else { None };
    Ok(FleetBinding {
      fleet,
      target,
      env,
      on_event,
      ready_waiters: Default::default(),
      close_waiters: Default::default(),
      refd: std::cell::Cell::new(false),
      hook,
      hook_ran: ran,
      flush,
    })
  }

  /// Makes the wake-up ThreadsafeFunction once the pool exists (its context holds the pool
  /// weakly), unref'd, and delivers any wake-up that came before it.
  ///
  /// # Safety
  /// `env` is the env of the running call, on its JS thread.
  pub(crate) unsafe fn connect_wakeups(&self, env: sys::napi_env, pool: Weak<dyn Pump>) -> JsResult<()> {
    let context = Box::into_raw(Box::new(TsfnContext { pool, target: Arc::clone(&self.target) }));
    let mut tsfn = ptr::null_mut();
    // SAFETY: the contract; a native-only function (no JS function), unbounded queue, one
    // thread; `context` is freed by `tsfn_finalized`, or below if none was made.
    unsafe {
      let mut name = ptr::null_mut();
      check(sys::napi_create_string_utf8(env, c"async-shape:fleet".as_ptr(), -1, &mut name), "string");
      let status = sys::napi_create_threadsafe_function(
        env,
        ptr::null_mut(),
        ptr::null_mut(),
        name,
        0,
        1,
        ptr::null_mut(),
        Some(tsfn_finalized),
        context.cast(),
        Some(on_wake),
        &mut tsfn,
      );
      if status != sys::Status::napi_ok {
        drop(Box::from_raw(context));
        crate::napi_raw::throw_error(env, c"async-shape: could not make the fleet's wake-up function");
        return Err(Thrown);
      }
      check(sys::napi_unref_threadsafe_function(env, tsfn), "napi_unref_threadsafe_function");
    }
    *self.target.tsfn.lock().unwrap_or_else(|e| e.into_inner()) = Some(Tsfn(tsfn));
    self.target.pending.store(false, Ordering::Release);
    self.target.wake();
    Ok(())
  }

  /// Copies the ledger into the scheduler and the scheduler's news into the ledger: the
  /// permits given back, the demand; pokes the client when it has something to send.
  pub(crate) fn settle<T: Copy>(&self, core: &mut PoolCore<T>, now: u64) {
    let poke = {
      let mut l = self.fleet.ledger();
      let mut poke = l.returned(core.take_returned());
      poke |= l.local(core.active(), core.pending(), core.head_priority(), now);
      core.set_permits(l.cap_at(now), l.reuse(now));
      poke
    };
    if poke {
      match &self.flush {
        Some(flush) => flush.arm(),
        None => self.fleet.poke(),
      }
    }
  }

  /// Keeps the event loop alive while local tasks wait for permits or a `ready()`/`close()`
  /// promise is pending; lets it exit otherwise.
  ///
  /// # Safety
  /// `env` is the pool's env, on its JS thread.
  pub(crate) unsafe fn update_ref(&self, env: sys::napi_env, pending: u32) {
    let closed = self.fleet.ledger().is_closed();
    let want =
      !self.ready_waiters.borrow().is_empty() || !self.close_waiters.borrow().is_empty() || (pending > 0 && !closed);
    if want == self.refd.get() {
      return;
    }
    let guard = self.target.tsfn.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = guard.as_ref() {
      // SAFETY: the contract; the function is alive while the lock holds it.
      let status = unsafe {
        if want {
          sys::napi_ref_threadsafe_function(env, t.0)
        } else {
          sys::napi_unref_threadsafe_function(env, t.0)
        }
      };
      if status == sys::Status::napi_ok {
        self.refd.set(want);
      }
    }
  }

  /// Delivers the ledger's events to `onEvent` and settles the `ready()`/`close()` promises
  /// whose outcome is known. `first` keeps the first exception JS threw.
  ///
  /// # Safety
  /// `env` is the pool's env, on its JS thread; runs JS (call with the core unborrowed).
  pub(crate) unsafe fn deliver(&self, env: sys::napi_env, first: &mut FirstThrow) {
    let (events, readiness, closed) = {
      let mut l = self.fleet.ledger();
      (l.take_events(), l.readiness().clone(), l.is_closed())
    };
    // SAFETY: the contract, for every N-API call below; deferreds are settled once (taken out of
    // their list first).
    unsafe {
      for (kind, detail) in events {
        let mut callback = ptr::null_mut();
        check(sys::napi_get_reference_value(env, self.on_event, &mut callback), "napi_get_reference_value");
        if callback.is_null() {
          continue;
        }
        let detail = match detail {
          Some(d) => js_string(env, &d),
          None => undefined(env),
        };
        let mut kind_value = ptr::null_mut();
        check(sys::napi_create_uint32(env, kind, &mut kind_value), "napi_create_uint32");
        let args = [kind_value, detail];
        let mut ignored = ptr::null_mut();
        let status = sys::napi_call_function(env, undefined(env), callback, 2, args.as_ptr(), &mut ignored);
        let step = js_check(env, status, "napi_call_function");
        first.step(env, step);
      }
      match &readiness {
        // Closed before any call succeeded (an unreachable server, a refused database): the
        // ready() promises would never settle, and their ref kept the process alive for good.
        Readiness::Pending if closed => {
          let waiters = std::mem::take(&mut *self.ready_waiters.borrow_mut());
          for d in waiters {
            let error = js_error(env, "async-shape: the pool was closed before it was registered in Redis");
            let step = js_check(env, sys::napi_reject_deferred(env, d, error), "napi_reject_deferred");
            first.step(env, step);
          }
        }
        Readiness::Pending => {}
        Readiness::Ready => {
          let waiters = std::mem::take(&mut *self.ready_waiters.borrow_mut());
          for d in waiters {
            let step = js_check(env, sys::napi_resolve_deferred(env, d, undefined(env)), "napi_resolve_deferred");
            first.step(env, step);
          }
        }
        Readiness::Failed(message) => {
          let waiters = std::mem::take(&mut *self.ready_waiters.borrow_mut());
          for d in waiters {
            let error = js_error(env, message);
            let step = js_check(env, sys::napi_reject_deferred(env, d, error), "napi_reject_deferred");
            first.step(env, step);
          }
        }
      }
      if closed {
        let waiters = std::mem::take(&mut *self.close_waiters.borrow_mut());
        for d in waiters {
          let step = js_check(env, sys::napi_resolve_deferred(env, d, undefined(env)), "napi_resolve_deferred");
          first.step(env, step);
        }
      }
    }
  }

  /// `ready()`: a new promise, settled now if the outcome is known.
  ///
  /// # Safety
  /// `env` is the pool's env, on its JS thread; runs JS (call with the core unborrowed).
  pub(crate) unsafe fn ready(&self, env: sys::napi_env) -> JsResult<sys::napi_value> {
    // SAFETY: the contract.
    unsafe {
      let (deferred, promise) = new_promise(env)?;
      self.ready_waiters.borrow_mut().push(deferred);
      let mut first = FirstThrow::new();
      self.deliver(env, &mut first);
      first.finish(env)?;
      Ok(promise)
    }
  }

  /// `close()`: a new promise, resolved once the client closed.
  ///
  /// # Safety
  /// `env` is the pool's env, on its JS thread; runs JS (call with the core unborrowed).
  pub(crate) unsafe fn close(&self, env: sys::napi_env) -> JsResult<sys::napi_value> {
    // SAFETY: the contract.
    unsafe {
      let (deferred, promise) = new_promise(env)?;
      self.close_waiters.borrow_mut().push(deferred);
      self.fleet.close();
      let mut first = FirstThrow::new();
      self.deliver(env, &mut first);
      first.finish(env)?;
      Ok(promise)
    }
  }

  /// `fleetStats()`: a Float64Array laid out as `wire::STAT_*`.
  ///
  /// # Safety
  /// `env` is the pool's env, on its JS thread.
  pub(crate) unsafe fn stats(&self, env: sys::napi_env) -> sys::napi_value {
    let stats = self.fleet.ledger().stats(now_ns());
    let mut data = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut array = ptr::null_mut();
    // SAFETY: the contract; the buffer N-API made has room for `STAT_LEN` f64s (8-aligned, as
    // ArrayBuffer data is), written before the array is made over it.
    unsafe {
      check(sys::napi_create_arraybuffer(env, STAT_LEN * 8, &mut data, &mut buffer), "napi_create_arraybuffer");
      ptr::copy_nonoverlapping(stats.as_ptr(), data.cast::<f64>(), STAT_LEN);
      check(
        sys::napi_create_typedarray(env, sys::TypedarrayType::float64_array, STAT_LEN, buffer, 0, &mut array),
        "napi_create_typedarray",
      );
    }
    array
  }
}

impl Drop for FleetBinding {
  /// The pool was collected (its functions' finalizers dropped the last `Rc`), on the JS thread:
  /// close the client without waiting, stop the wake-ups, remove the exit hook.
  fn drop(&mut self) {
    if let Some(flush) = &self.flush {
      flush.close();
    }
    self.fleet.close();
    let tsfn = self.target.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(t) = tsfn {
      // SAFETY: the function was alive (the lock held it) and nothing calls it any more (taken
      // out under the lock); releasing our one thread's hold lets N-API finalize it.
      unsafe { sys::napi_release_threadsafe_function(t.0, sys::ThreadsafeFunctionReleaseMode::release) };
    }
    if !self.hook_ran.load(Ordering::Acquire) {
      // SAFETY: the pool's env, on its JS thread (finalizers run there); the hook is still
      // registered with this very data, which nothing else frees.
      unsafe {
        sys::napi_remove_env_cleanup_hook(self.env, Some(on_env_exit), self.hook.cast());
        drop(Box::from_raw(self.hook));
      }
    }
    // SAFETY: the pool's env, on its JS thread; the reference is deleted once, here.
    unsafe { sys::napi_delete_reference(self.env, self.on_event) };
  }
}

/// # Safety
/// `env` is the env of the running call, on its JS thread.
unsafe fn js_string(env: sys::napi_env, s: &str) -> sys::napi_value {
  let mut v = ptr::null_mut();
  // SAFETY: the contract; the pointer and length are the string's.
  check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) }, "string");
  v
}

/// An `Error` with `message`.
///
/// # Safety
/// `env` is the env of the running call, on its JS thread.
unsafe fn js_error(env: sys::napi_env, message: &str) -> sys::napi_value {
  let mut error = ptr::null_mut();
  // SAFETY: the contract.
  unsafe {
    let text = js_string(env, message);
    check(sys::napi_create_error(env, ptr::null_mut(), text, &mut error), "napi_create_error");
  }
  error
}
