//! napi glue for the pool: raw `napi::sys`, no per-task allocation on the Rust→JS boundary.
//!
//! `createPool(concurrency, tracked)` returns a plain object of native functions bound to one
//! `PoolCore` (each function holds an `Rc` of it as callback data, freed by a finalizer). A queued
//! task is a *gate*: a promise made with `napi_create_promise` whose deferred waits in the Rust
//! queue. JS attaches the task's start to the gate in the caller's async context, so
//! AsyncLocalStorage sees the `limit()` caller's store; Rust resolves the gate when a slot frees,
//! inside the same native call that released the slot. Cleared or removed gates are rejected (with
//! the given reason, or with the number 0 meaning "never settle") so that no deferred leaks.
//!
//! `limit.map` queues its N items as one run-length entry, `Waiter::Batch(id)`. Rust starts each
//! item by calling the pool's one JS callback (`onBatch(id)`, held by a weak reference so the pool
//! stays collectable), which only schedules the item; `release()` hands the id back instead. No
//! promise, deferred or `Promise.all` element per queued item. An untracked task queued by
//! `submitPlain(token)` is `Waiter::Plain`: its gate resolves with the token JS named it by.
//!
//! Every function takes and returns numbers, booleans or the gate, and validates nothing: the JS
//! layer (`lib/limit.js`, `lib/pool.js`) validates user input before calling in. Numbers that
//! become tokens or durations are still range-checked here, so no input can panic.
//!
//! A tracked pool's task is named by its token (`slot · 2^21 + generation`, see `pool_core`): the
//! gate resolves with it, and `finish`, `remove`, `armDeadline` and `submit`'s parent take it. A
//! stale token (its task already finished, removed or cleared, its slot maybe reused) acts on
//! nothing. Starting queued work never calls into JS: gates are resolved (their reactions run
//! later, as microtasks), one at a time with the core's borrow released.
//!
//! Safety: every `unsafe fn` here takes the env of the N-API call being run, on its JS thread, and
//! values of that call's scope. Every entry runs its body under `guarded` (a panic becomes a thrown
//! Error), checks the N-API statuses that depend on input, and asserts the others.

use crate::napi_raw::{boolean, f64_of, guarded, i32_of, is_undefined, num, numbers, u32_of, undefined};
use async_shape_core::now_ns;
use async_shape_core::pool::adaptive::{Algorithm, Bounds, Controller};
use async_shape_core::pool::scheduler::{Outcome, PoolCore, Token, NO_ID};
use napi::bindgen_prelude::{Env, JsValue, Result, Unknown};
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;
use std::ffi::{c_void, CStr};
use std::ptr;
use std::rc::Rc;

type Gate = sys::napi_deferred;

/// What waits in the queue for a slot.
#[derive(Clone, Copy)]
enum Waiter {
  /// One task, started by resolving its gate promise.
  Gate(Gate),
  /// One item of a `limit.map` batch, started by calling `onBatch(id)`.
  Batch(u32),
  /// An untracked pool's task queued by `submitPlain(token)`: its gate resolves with `token`, the
  /// name JS gave the task, so the gate that opens names the task it starts.
  Plain(Gate, u32),
}

struct PoolCell {
  core: RefCell<PoolCore<Waiter>>,
  /// Weak reference to the JS `onBatch(id)` callback, or null.
  on_batch: sys::napi_ref,
}
type Shared = Rc<PoolCell>;

/// The first `N` arguments of a pool function's call (missing ones are `undefined`) and its pool.
/// Panics (turned into a thrown Error by `guarded`) if N-API cannot read them: a bug, not input.
///
/// # Safety
/// `env` and `info` are those of a call of a function made by `create_pool`, on the JS thread.
unsafe fn cb_args<const N: usize>(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> ([sys::napi_value; N], &'static PoolCell) {
  let mut argv = [ptr::null_mut(); N];
  let mut argc = N;
  let mut data: *mut c_void = ptr::null_mut();
  let status = sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data);
  assert!(status == sys::Status::napi_ok && !data.is_null(), "a pool function called without its pool");
  // SAFETY: `data` is the `Box<Shared>` that `create_pool` gave this function, freed only by the
  // function's finalizer, so it outlives this call; the `'static` never escapes the call (entries
  // use it only inside their own body).
  (argv, &**(data as *const Shared))
}

/// Asserts that an N-API call succeeded. It fails only on a bug (a wrong handle or type, no user
/// value involved): the panic becomes a thrown Error under `guarded` rather than a wrong result.
fn check(status: sys::napi_status, what: &str) {
  assert!(status == sys::Status::napi_ok, "{what} failed with status {status}");
}

/// Throws a TypeError with `message` (for the JS layer's callers) and returns null.
unsafe fn type_error(env: sys::napi_env, message: &CStr) -> sys::napi_value {
  sys::napi_throw_type_error(env, ptr::null(), message.as_ptr());
  ptr::null_mut()
}

/// Borrows the core; throws instead of panicking if a hook re-entered the pool mid-call.
macro_rules! core_mut {
  ($env:expr, $cell:expr) => {
    match $cell.core.try_borrow_mut() {
      Ok(c) => c,
      Err(_) => {
        sys::napi_throw_error($env, ptr::null(), c"async-shape: pool re-entered".as_ptr());
        return ptr::null_mut();
      }
    }
  };
}

/// Creates a gate promise; the deferred goes into the queue. Panics (a thrown Error under
/// `guarded`, before anything is queued) if N-API cannot make one.
unsafe fn new_gate(env: sys::napi_env) -> (Gate, sys::napi_value) {
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  let status = sys::napi_create_promise(env, &mut deferred, &mut promise);
  assert!(status == sys::Status::napi_ok && !deferred.is_null(), "could not create a gate promise");
  (deferred, promise)
}

/// A token from JS: `NO_ID` for anything that is not an integer in 0..2^53 (it matches no task).
unsafe fn token_of(env: sys::napi_env, v: sys::napi_value) -> Token {
  let t = f64_of(env, v);
  if (0.0..9_007_199_254_740_992.0).contains(&t) && t.fract() == 0.0 {
    t as Token
  } else {
    NO_ID
  }
}

/// Starts what left the queue: gates resolve (with undefined when untracked, with the task's token
/// when tracked); batch items call `onBatch(id)`. Call with the core's borrow released: JS may run.
unsafe fn open(env: sys::napi_env, cell: &PoolCell, started: &[(Token, Waiter)]) {
  for &(id, waiter) in started {
    match waiter {
      // A deferred is resolved (or rejected) once: it left the queue just now, exactly once.
      Waiter::Gate(gate) => {
        let v = if id == NO_ID { undefined(env) } else { num(env, id as f64) };
        let status = sys::napi_resolve_deferred(env, gate, v);
        debug_assert_eq!(status, sys::Status::napi_ok, "napi_resolve_deferred");
      }
      Waiter::Plain(gate, token) => {
        let status = sys::napi_resolve_deferred(env, gate, num(env, token as f64));
        debug_assert_eq!(status, sys::Status::napi_ok, "napi_resolve_deferred");
      }
      Waiter::Batch(batch) => {
        let mut callback = ptr::null_mut();
        let status = sys::napi_get_reference_value(env, cell.on_batch, &mut callback);
        debug_assert_eq!(status, sys::Status::napi_ok, "napi_get_reference_value");
        if !callback.is_null() {
          let args = [num(env, batch as f64)];
          let mut ignored = ptr::null_mut();
          // If `onBatch` throws, the exception stays pending and reaches this call's JS caller.
          sys::napi_call_function(env, undefined(env), callback, 1, args.as_ptr(), &mut ignored);
        }
      }
    }
  }
}

/// Rejects gates that will never start: with `reason`, or with 0 ("leave the task pending").
unsafe fn shut(env: sys::napi_env, waiters: impl IntoIterator<Item = Waiter>, reason: Option<sys::napi_value>) {
  for waiter in waiters {
    if let Waiter::Gate(gate) | Waiter::Plain(gate, _) = waiter {
      let r = reason.unwrap_or_else(|| num(env, 0.0));
      let status = sys::napi_reject_deferred(env, gate, r);
      debug_assert_eq!(status, sys::Status::napi_ok, "napi_reject_deferred");
    }
  }
}

fn drain(core: &mut PoolCore<Waiter>, now: u64) -> Vec<(Token, Waiter)> {
  let mut started = Vec::new();
  while let Some(s) = core.start_next(now) {
    started.push(s);
  }
  started
}

/// Submits one task: starts it now when a slot is free and nothing waits (undefined when untracked,
/// its token when tracked), else queues it behind a gate and returns the gate promise.
unsafe fn submit_task(env: sys::napi_env, cell: &PoolCell, priority: i32, parent: Token) -> sys::napi_value {
  let now = now_ns();
  {
    let mut core = core_mut!(env, cell);
    if let Some(id) = core.try_start_now(now, parent) {
      drop(core);
      return if id == NO_ID { undefined(env) } else { num(env, id as f64) };
    }
  }
  let (gate, promise) = new_gate(env);
  let started = {
    let mut core = core_mut!(env, cell);
    core.enqueue(priority, Waiter::Gate(gate), now, parent);
    // p-limit starts the queue's head at once when a slot is free (after a concurrency change).
    core.start_next(now)
  };
  if let Some(s) = started {
    open(env, cell, &[s]);
  }
  promise
}

/// `submit(priority, parent)`: undefined (untracked) or the task's token (tracked) when the task
/// starts now; otherwise its gate promise (the token is then `lastId()`). `parent` is the token of
/// the running task that submits it, or undefined.
unsafe extern "C" fn submit(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<2>(env, info);
    let parent = if is_undefined(env, argv[1]) { NO_ID } else { token_of(env, argv[1]) };
    submit_task(env, cell, i32_of(env, argv[0]), parent)
  })
}

/// `submitBatch(batchId, count)`: untracked pools. Starts as many of `count` items as slots allow
/// and returns that number (JS runs them); the rest wait as one queue entry, each started later
/// through `onBatch(batchId)`.
unsafe extern "C" fn submit_batch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<2>(env, info);
    let (batch, count) = (u32_of(env, argv[0]), u32_of(env, argv[1]));
    let mut core = core_mut!(env, cell);
    let now_started = core.try_start_many(count);
    core.enqueue_run(Waiter::Batch(batch), count - now_started);
    drop(core);
    num(env, now_started as f64)
  })
}

/// `submitPlain()`: `submit` at priority 0 without a parent (the common case: every p-limit task,
/// Pool#map items). `submitPlain(token)`, untracked pools: the same, but a queued task's gate
/// resolves with `token` (a u32), and `clear` names it as `-token - 1`.
unsafe extern "C" fn submit_plain(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<1>(env, info);
    if is_undefined(env, argv[0]) || core_mut!(env, cell).is_tracked() {
      submit_task(env, cell, 0, NO_ID)
    } else {
      submit_named(env, cell, u32_of(env, argv[0]))
    }
  })
}

/// `submit_task` for an untracked pool's task named `token`.
unsafe fn submit_named(env: sys::napi_env, cell: &PoolCell, token: u32) -> sys::napi_value {
  let now = now_ns();
  {
    let mut core = core_mut!(env, cell);
    if core.try_start_now(now, NO_ID).is_some() {
      drop(core);
      return undefined(env);
    }
  }
  let (gate, promise) = new_gate(env);
  let started = {
    let mut core = core_mut!(env, cell);
    core.enqueue(0, Waiter::Plain(gate, token), now, NO_ID);
    // p-limit starts the queue's head at once when a slot is free (after a concurrency change).
    core.start_next(now)
  };
  if let Some(s) = started {
    open(env, cell, &[s]);
  }
  promise
}

/// `lastId()`: the token that the last queued `submit` got (tracked pools).
unsafe extern "C" fn last_id(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    num(env, core.last_id() as f64)
  })
}

fn outcome_of(code: u32) -> Outcome {
  match code {
    0 => Outcome::Fulfilled,
    2 => Outcome::Dropped,
    _ => Outcome::Rejected,
  }
}

/// `releaseTimed(ms, outcome)`: an untracked task of an adaptive pool settled after `ms`
/// (outcome 0 fulfilled, 1 rejected, 2 dropped). Starts what the (maybe changed) limit allows.
/// Returns 2 when the limit changed, else 1.
unsafe extern "C" fn release_timed(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<2>(env, info);
    let now = now_ns();
    let (ms, outcome) = (f64_of(env, argv[0]), outcome_of(u32_of(env, argv[1])));
    let (changed, started) = {
      let mut core = core_mut!(env, cell);
      let inflight = core.active();
      core.finish(NO_ID, outcome, now);
      let changed = core.observe((ms.max(0.0) * 1e6) as u64, inflight, outcome, now);
      (changed, drain(&mut core, now))
    };
    open(env, cell, &started);
    num(env, if changed { 2.0 } else { 1.0 })
  })
}

/// `release()`: an untracked task settled; starts the next one. When that is an item of a
/// `limit.map` run, returns the run's id for the caller to start it (rather than calling
/// `onBatch` from here); otherwise undefined.
unsafe extern "C" fn release(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let now = now_ns();
    let next = {
      let mut core = core_mut!(env, cell);
      core.finish(NO_ID, Outcome::Fulfilled, now);
      core.start_next(now)
    };
    match next {
      Some((_, Waiter::Batch(batch))) => num(env, batch as f64),
      Some(s) => {
        open(env, cell, &[s]);
        ptr::null_mut()
      }
      None => ptr::null_mut(),
    }
  })
}

/// `finish(token, outcome)`: a tracked task settled or was abandoned (outcome 0 fulfilled,
/// 1 rejected, 2 dropped). Starts what the freed slot (or a raised adaptive limit) allows.
/// Returns 0 if it had already finished (or the token is stale), 1 if finished, 2 if finished and
/// the limit changed.
unsafe extern "C" fn finish(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<2>(env, info);
    let now = now_ns();
    let (id, outcome) = (token_of(env, argv[0]), outcome_of(u32_of(env, argv[1])));
    let code = {
      let mut core = core_mut!(env, cell);
      if !core.finish(id, outcome, now) {
        return num(env, 0.0);
      }
      if core.take_limit_change() {
        2.0
      } else {
        1.0
      }
    };
    // An iterative drain, one gate at a time (no Vec per call): resolving a gate runs no JS.
    loop {
      let next = core_mut!(env, cell).start_next(now);
      match next {
        Some(s) => open(env, cell, &[s]),
        None => break,
      }
    }
    num(env, code)
  })
}

unsafe extern "C" fn active(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    num(env, core.active() as f64)
  })
}

unsafe extern "C" fn pending(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    num(env, core.pending() as f64)
  })
}

unsafe extern "C" fn concurrency_fn(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    num(env, core.concurrency())
  })
}

/// `setConcurrency(c)`: takes effect for the next start; JS drains in a microtask, as p-limit does.
unsafe extern "C" fn set_concurrency(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<1>(env, info);
    let c = f64_of(env, argv[0]);
    core_mut!(env, cell).set_concurrency(c);
    ptr::null_mut()
  })
}

/// `drain()`: starts queued tasks while slots are free.
unsafe extern "C" fn drain_fn(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let started = {
      let mut core = core_mut!(env, cell);
      drain(&mut core, now_ns())
    };
    open(env, cell, &started);
    ptr::null_mut()
  })
}

/// `clear(reason?)`: empties the queue. Gates are rejected with `reason`, or left to never start.
/// Returns, in start order, the cleared task tokens (tracked pools reject their promises), or for an
/// untracked pool one element per queue entry: the batch id for a batch, `-token - 1` for a task
/// named by `submitPlain(token)`, -1 for another plain task.
unsafe extern "C" fn clear(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<1>(env, info);
    let cleared = core_mut!(env, cell).clear();
    let reason = if is_undefined(env, argv[0]) { None } else { Some(argv[0]) };
    let ids = numbers(
      env,
      cleared.iter().map(|&(id, waiter)| match waiter {
        Waiter::Batch(batch) => batch as f64,
        Waiter::Gate(_) if id == NO_ID => -1.0,
        Waiter::Plain(_, token) => -(token as f64) - 1.0,
        Waiter::Gate(_) => id as f64,
      }),
    );
    shut(env, cleared.into_iter().map(|(_, g)| g), reason);
    ids
  })
}

/// `remove(token)`: takes a queued task out (its signal aborted); false if it is not queued (its
/// gate opened, or the token is stale).
unsafe extern "C" fn remove(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<1>(env, info);
    let id = token_of(env, argv[0]);
    let waiter = core_mut!(env, cell).remove(id);
    let removed = waiter.is_some();
    shut(env, waiter, None);
    boolean(env, removed)
  })
}

unsafe extern "C" fn deadlocked(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    boolean(env, core.deadlocked())
  })
}

/// `armDeadline(token, ms)`: ms until the earliest deadline when this one became it, else -1.
/// `ms` is clamped to 0..=2^31-1 (NaN is 0), the most a JS timer takes.
unsafe extern "C" fn arm_deadline(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<2>(env, info);
    let (id, ms) = (token_of(env, argv[0]), f64_of(env, argv[1]));
    let ms = if ms.is_nan() { 0.0 } else { ms.clamp(0.0, 2_147_483_647.0) };
    let now = now_ns();
    let earliest = core_mut!(env, cell).arm_deadline(id, (ms * 1e6) as u64, now);
    num(env, if earliest { ms } else { -1.0 })
  })
}

/// `expire()`: tokens of running tasks past their deadline.
unsafe extern "C" fn expire(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let due = core_mut!(env, cell).expire(now_ns());
    numbers(env, due.into_iter().map(|id| id as f64))
  })
}

/// `nextDeadline()`: ms until the earliest live deadline, or -1.
unsafe extern "C" fn next_deadline(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let next = core_mut!(env, cell).next_deadline_in(now_ns());
    num(env, next.map_or(-1.0, |ns| ns as f64 / 1e6))
  })
}

/// `stats(reset)`: the Little's-law snapshot; `reset` starts a new window after reading.
unsafe extern "C" fn stats(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (argv, cell) = cb_args::<1>(env, info);
    let mut reset = false;
    if sys::napi_get_value_bool(env, argv[0], &mut reset) != sys::Status::napi_ok {
      return type_error(env, c"Expected `reset` to be a boolean");
    }
    let now = now_ns();
    let s = {
      let mut core = core_mut!(env, cell);
      let s = core.stats(now);
      if reset {
        core.reset_stats(now);
      }
      s
    };
    let mut obj = ptr::null_mut();
    check(sys::napi_create_object(env, &mut obj), "napi_create_object");
    let fields: [(&CStr, f64); 14] = [
      (c"completed", s.completed as f64),
      (c"failed", s.failed as f64),
      (c"dropped", s.dropped as f64),
      (c"elapsedMs", s.elapsed_ms),
      (c"throughput", s.throughput),
      (c"latencyMean", s.latency_mean_ms),
      (c"latencyP50", s.latency_p50_ms),
      (c"latencyP90", s.latency_p90_ms),
      (c"latencyP99", s.latency_p99_ms),
      (c"latencyMax", s.latency_max_ms),
      (c"waitMean", s.wait_mean_ms),
      (c"waitP99", s.wait_p99_ms),
      (c"meanInFlight", s.mean_in_flight),
      (c"littleConcurrency", s.little_concurrency),
    ];
    for (name, v) in fields {
      check(sys::napi_set_named_property(env, obj, name.as_ptr(), num(env, v)), "napi_set_named_property");
    }
    obj
  })
}

/// `adaptiveInfo()`: an adaptive pool's controller state, or undefined: `{algorithm, limit,
/// minRtt, rtt, signal, history}` with times in ms (history: `[msSinceStart, limit]` pairs).
unsafe extern "C" fn adaptive_info(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: N-API calls this on the JS thread with this call's env and info, for a function
  // made by `create_pool` (so `cb_args` finds its pool).
  guarded(env, || {
    let (_, cell) = cb_args::<0>(env, info);
    let core = core_mut!(env, cell);
    let Some((algorithm, estimate)) = core.estimate() else {
      return undefined(env);
    };
    let mut obj = ptr::null_mut();
    check(sys::napi_create_object(env, &mut obj), "napi_create_object");
    let name: &CStr = match algorithm {
      Algorithm::Vegas => c"vegas",
      Algorithm::Gradient => c"gradient",
      Algorithm::Aimd => c"aimd",
    };
    let mut name_value = ptr::null_mut();
    check(sys::napi_create_string_utf8(env, name.as_ptr(), -1, &mut name_value), "napi_create_string_utf8");
    check(sys::napi_set_named_property(env, obj, c"algorithm".as_ptr(), name_value), "napi_set_named_property");
    for (key, v) in [
      (c"limit", core.concurrency()),
      (c"minRtt", estimate.min_rtt / 1e6),
      (c"rtt", estimate.rtt / 1e6),
      (c"signal", estimate.signal),
    ] {
      check(sys::napi_set_named_property(env, obj, key.as_ptr(), num(env, v)), "napi_set_named_property");
    }
    let history: Vec<(u64, f64)> = core.limit_history().copied().collect();
    let mut arr = ptr::null_mut();
    check(sys::napi_create_array_with_length(env, history.len(), &mut arr), "napi_create_array_with_length");
    for (i, (t, limit)) in history.into_iter().enumerate() {
      let mut pair = ptr::null_mut();
      check(sys::napi_create_array_with_length(env, 2, &mut pair), "napi_create_array_with_length");
      check(sys::napi_set_element(env, pair, 0, num(env, t as f64 / 1e6)), "napi_set_element");
      check(sys::napi_set_element(env, pair, 1, num(env, limit)), "napi_set_element");
      check(sys::napi_set_element(env, arr, i as u32, pair), "napi_set_element");
    }
    check(sys::napi_set_named_property(env, obj, c"history".as_ptr(), arr), "napi_set_named_property");
    obj
  })
}

/// The finalizer of each pool function: drops its `Rc` of the pool; the last one also deletes the
/// weak reference to `onBatch`.
unsafe extern "C" fn drop_shared(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: N-API calls this once per function, on the JS thread, with the `Box<Shared>` that
  // `create_pool` leaked for that function and nothing else freed; the function can no longer run.
  let shared = Box::from_raw(data as *mut Shared);
  release_on_batch(env, &shared);
}

/// Deletes the weak reference to `onBatch` when `shared` is the pool's last `Rc`.
///
/// # Safety
/// `env` is the pool's env, on its JS thread.
unsafe fn release_on_batch(env: sys::napi_env, shared: &Shared) {
  if Rc::strong_count(shared) == 1 && !shared.on_batch.is_null() {
    let status = sys::napi_delete_reference(env, shared.on_batch);
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_delete_reference");
  }
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Creates one pool. `tracked` keeps running tasks in slots (abort, timeouts, stats, deadlock
/// detection); p-limit's API needs none of that and runs untracked. `onBatch(id)`, for untracked
/// pools, starts one item of batch `id`. `adaptive` = `[algorithm (0 vegas, 1 gradient, 2 aimd),
/// min, max, initial]` makes the limit adaptive.
#[napi(
  js_name = "createPool",
  ts_args_type = "concurrency: number, tracked: boolean, onBatch?: (batchId: number) => void, adaptive?: [number, number, number, number]"
)]
pub fn create_pool<'env>(
  env: &'env Env,
  concurrency: f64,
  tracked: bool,
  on_batch: Option<Unknown<'env>>,
  adaptive: Option<Vec<f64>>,
) -> Result<Unknown<'env>> {
  let raw = env.raw();
  let mut on_batch_ref = ptr::null_mut();
  if let Some(f) = on_batch {
    // Weak (count 0): the callback's closure reaches these functions, so a strong one would leak.
    // SAFETY: `raw` is this call's env, on its JS thread, and `f` one of this call's arguments.
    let status = unsafe { sys::napi_create_reference(raw, f.raw(), 0, &mut on_batch_ref) };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::from_reason("async-shape: could not reference onBatch"));
    }
  }
  let mut core = PoolCore::new(concurrency, tracked);
  if let Some(a) = adaptive {
    let algorithm = match a.first().copied().unwrap_or(0.0) as u32 {
      1 => Algorithm::Gradient,
      2 => Algorithm::Aimd,
      _ => Algorithm::Vegas,
    };
    let at = |i: usize, d: f64| a.get(i).copied().unwrap_or(d);
    let bounds = Bounds { min: at(1, 1.0), max: at(2, 1000.0), initial: at(3, 4.0) };
    core.set_controller(Controller::new(algorithm, bounds), now_ns());
  }
  let shared: Shared = Rc::new(PoolCell { core: RefCell::new(core), on_batch: on_batch_ref });
  let methods: [(&CStr, Callback); 20] = [
    (c"releaseTimed", release_timed),
    (c"adaptiveInfo", adaptive_info),
    (c"submit", submit),
    (c"submitPlain", submit_plain),
    (c"submitBatch", submit_batch),
    (c"lastId", last_id),
    (c"release", release),
    (c"finish", finish),
    (c"active", active),
    (c"pending", pending),
    (c"concurrency", concurrency_fn),
    (c"setConcurrency", set_concurrency),
    (c"drain", drain_fn),
    (c"clear", clear),
    (c"remove", remove),
    (c"deadlocked", deadlocked),
    (c"armDeadline", arm_deadline),
    (c"expire", expire),
    (c"nextDeadline", next_deadline),
    (c"stats", stats),
  ];
  // SAFETY: `raw` is this call's env, on its JS thread. Each function gets its own leaked
  // `Box<Shared>` as data, freed by its finalizer (`drop_shared`) or here if it never got one; the
  // callbacks only reach it through `cb_args` while the function is alive.
  unsafe {
    let failed = |shared: &Shared, what: &str| {
      release_on_batch(raw, shared);
      Err(napi::Error::from_reason(format!("async-shape: could not {what}")))
    };
    let mut obj = ptr::null_mut();
    if sys::napi_create_object(raw, &mut obj) != sys::Status::napi_ok {
      return failed(&shared, "create a pool");
    }
    for (name, cb) in &methods {
      let data = Box::into_raw(Box::new(shared.clone())) as *mut c_void;
      let mut f = ptr::null_mut();
      if sys::napi_create_function(raw, name.as_ptr(), -1, Some(*cb), data, &mut f) != sys::Status::napi_ok {
        drop(Box::from_raw(data as *mut Shared));
        return failed(&shared, "create a pool function");
      }
      if sys::napi_add_finalizer(raw, f, data, Some(drop_shared), ptr::null_mut(), ptr::null_mut())
        != sys::Status::napi_ok
      {
        // `f` is unreachable but may still be alive: its data must outlive it, so it leaks (one
        // `Rc`, in a path N-API never takes for a fresh function).
        return failed(&shared, "attach a pool function's finalizer");
      }
      if sys::napi_set_named_property(raw, obj, name.as_ptr(), f) != sys::Status::napi_ok {
        return failed(&shared, "create a pool");
      }
    }
    Ok(Unknown::from_raw_unchecked(raw, obj))
  }
}
