//! The pool room's binding: `createPool` and the raw `napi::sys` functions behind `pLimit`
//! (`lib/pool/limit.js`) and `Pool` (`lib/pool/pool.js`), over the core's `PoolCore`
//! (`core/src/pool/scheduler.rs`). No per-task allocation on the Rust→JS boundary.
//!
//! `createPool(concurrency, tracked, onBatch?, adaptive?)` returns a plain object of native
//! functions bound to one `PoolCore` (each function holds an `Rc` of it as callback data, freed by
//! a finalizer). A queued task is a *gate*: a promise made with `napi_create_promise` whose deferred
//! waits in the Rust queue. JS attaches the task's start to the gate in the caller's async context,
//! so AsyncLocalStorage sees the `limit()` caller's store; Rust resolves the gate when a slot frees,
//! inside the same native call that released the slot. Cleared or removed gates are rejected (with
//! the given reason, or with `wire::LEFT_PENDING` meaning "never settle") so that no deferred leaks.
//!
//! `limit.map` queues its N items as one run-length entry, `Waiter::Batch(id)`. Rust starts each
//! item by calling the pool's one JS callback (`onBatch(id)`, held by a weak reference so the pool
//! stays collectable), which only schedules the item; `release()` hands the id back instead. No
//! promise, deferred or `Promise.all` element per queued item. An untracked task queued by
//! `submitPlain(name)` is `Waiter::Plain`: its gate resolves with the name JS gave it.
//!
//! Every function takes and returns numbers, booleans or the gate, and validates nothing: the JS
//! layer (`lib/pool/limit.js`, `lib/pool/pool.js`) validates user input before calling in. Numbers
//! that become tokens or durations are still range-checked here, so no input can panic. The codes
//! and layouts are `async_shape_core::pool::wire`'s.
//!
//! Each function is for one kind of pool or both: `submitBatch`, `release` and `releaseTimed`
//! (and `submitPlain(name)` with a name) for an untracked pool (`pLimit`); `submit`, `lastId`,
//! `finish`, `remove`, `deadlocked`, `armDeadline`, `expire` and `nextDeadline` for a tracked one
//! (`Pool`). A call on the wrong kind throws an Error (a misuse of this internal API) and changes
//! nothing.
//!
//! A tracked pool's task is named by its token (`slot · wire::TOKEN_SLOT_UNIT + generation`, see
//! `core/src/pool/scheduler.rs`): the gate resolves with it, and `finish`, `remove`, `armDeadline`
//! and `submit`'s parent take it. A stale token (its task already finished, removed or cleared, its
//! slot maybe reused) acts on nothing, and so does a number that is no token at all (not an
//! integer in 0..2^53): it never reads as `NO_ID`, the core's "an untracked task".
//!
//! # Safety
//! Every `unsafe fn` here takes the env of the N-API call being run, on its JS thread, and
//! `napi_value`s of that call's scope (the contract of `crate::napi_raw`); "the module's contract"
//! below means this. The entries' bodies also take that call's `info`, of a function made by
//! [`create_pool`] (see [`with_pool`]).
//!
//! Re-entrancy: JS may run inside some of the N-API calls made here, and may call the pool back:
//! `napi_call_function` (`onBatch`), `napi_create_promise` (async_hooks `init` and
//! `v8.promiseHooks` init hooks), `napi_resolve_deferred` and `napi_reject_deferred` (an async_hooks
//! `promiseResolve` hook, promise hooks; the gates' reactions themselves run later, as
//! microtasks). No borrow of the core is held across any of them: each step borrows it, copies
//! out what it needs and releases it before it touches JS, so a call back finds the pool
//! consistent. (A borrow that fails anyway would be a thrown Error, "pool re-entered", never a
//! panic or an aliased `&mut`.) Answers are built after the core is consistent and every gate
//! taken off the queue is settled, and of own data properties (`napi_raw::define`, `array`), which
//! no prototype setter intercepts.
//!
//! JS that throws inside one of those calls is never a panic (`napi_raw::js_check`): a loop that
//! settles gates or starts batch items runs to its end, holding the first exception
//! (`napi_raw::FirstThrow`), which it throws at the end to this call's JS caller.

use crate::fleet::{FleetBinding, Pump};
use crate::napi_raw::{
  array, bool_of, boolean, call_info, check, contained, define, f64_of, i32_of, is_undefined, js_check, method_table,
  new_promise, num, numbers, object, raw_entries, throw_error, throw_type_error, u32_of, undefined, Callback,
  FirstThrow, FunctionData, JsResult, Thrown,
};
use async_shape_core::now_ns;
use async_shape_core::pool::adaptive::{Algorithm, Bounds, Controller};
use async_shape_core::pool::scheduler::{Outcome, PoolCore, Token, NO_ID};
use async_shape_core::pool::wire::{
  cleared_name, FREED, HISTORY_LIMIT, HISTORY_PAIR_LEN, HISTORY_TIME, LEFT_PENDING, LIMIT_CHANGED, MAX_TIMER_MS,
  NOT_RUNNING, NO_DEADLINE, UNNAMED,
};
use napi::bindgen_prelude::{Env, JsValue, Result, Unknown};
use napi::sys;
use napi_derive::napi;
use std::cell::{RefCell, RefMut};
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
  /// An untracked pool's task queued by `submitPlain(name)`: its gate resolves with `name`, so the
  /// gate that opens names the task it starts.
  Plain(Gate, u32),
}

struct PoolCell {
  core: RefCell<PoolCore<Waiter>>,
  /// The core's `is_tracked()`, copied: the kind checks borrow nothing.
  tracked: bool,
  /// Weak reference to the JS `onBatch(id)` callback, or null. Deleted with the last `Rc`.
  on_batch: sys::napi_ref,
  /// A shared pool's fleet side (`createPool`'s `shared`), or None for a local pool.
  fleet: Option<FleetBinding>,
}

impl Pump for PoolCell {
  /// The fleet's wake-up: start what the permits now allow (as `set_concurrency` + `drain`
  /// do), deliver events, settle `ready()`/`close()`, and keep the loop alive only while tasks
  /// wait for permits.
  unsafe fn pump(&self, env: sys::napi_env) {
    let Some(fleet) = &self.fleet else {
      return;
    };
    let now = now_ns();
    let started = match self.core.try_borrow_mut() {
      Ok(mut core) => {
        fleet.settle(&mut core, now);
        let started = start_all(&mut core, now);
        fleet.settle(&mut core, now);
        started
      }
      // Re-entered (cannot happen from the event loop): the next wake-up or call settles.
      Err(_) => return,
    };
    let mut first = FirstThrow::new();
    // SAFETY: the pool's env, on its JS thread (Pump's contract); the core is unborrowed.
    unsafe {
      open(env, self, &started, &mut first);
      fleet.deliver(env, &mut first);
      if let Ok(core) = self.core.try_borrow() {
        let pending = core.pending();
        drop(core);
        fleet.update_ref(env, pending);
      }
      // What JS threw is reported as uncaught (there is no JS caller here).
      let _ = first.finish(env);
    }
  }
}

/// What each pool function's data points to: a leaked `Box` of its own `Rc` of the pool.
type Shared = Rc<PoolCell>;

/// Runs `f` with the first `N` arguments of a pool function's call (missing ones are `undefined`)
/// and the function's pool. The pool is lent for the call only: `f` gets a reference of a lifetime
/// it cannot name, so it cannot keep it.
///
/// # Safety
/// `env` and `info` are those of a call, being run on the JS thread, of a function made by
/// [`create_pool`].
unsafe fn with_pool<const N: usize>(
  env: sys::napi_env,
  info: sys::napi_callback_info,
  f: impl FnOnce([sys::napi_value; N], &PoolCell) -> JsResult<sys::napi_value>,
) -> sys::napi_value {
  // SAFETY: this call's env and info, on the JS thread (the caller's contract).
  let call = unsafe { call_info::<N>(env, info) };
  let data = call.data.cast::<Shared>().cast_const();
  assert!(!data.is_null(), "a pool function called without its pool");
  // SAFETY: a function made by `create_pool` has as data the `Box<Shared>` leaked for it alone,
  // and only its finalizer (`drop_shared`) frees it, which N-API runs once the function has been
  // collected: never while the function is being called. So the box is valid for this whole call,
  // and only shared references are ever made from it.
  let shared: &Shared = unsafe { &*data };
  // A shared pool: the scheduler works with the permits held now, and the ledger hears of the
  // permits given back and of the demand after the call (one batch per call).
  if let Some(fleet) = &shared.fleet {
    if let Ok(mut core) = shared.core.try_borrow_mut() {
      fleet.settle(&mut core, now_ns());
    }
  }
  // `Err`: an exception is pending (or JS cannot run); null propagates it.
  let result = f(call.argv, shared).unwrap_or(ptr::null_mut());
  if let Some(fleet) = &shared.fleet {
    if let Ok(mut core) = shared.core.try_borrow_mut() {
      fleet.settle(&mut core, now_ns());
      let pending = core.pending();
      drop(core);
      // SAFETY: this call's env, on the JS thread.
      unsafe { fleet.update_ref(env, pending) };
    }
  }
  result
}

/// `Err` (a thrown Error, "internal API misuse") unless the pool is tracked (`tracked`) or
/// untracked (`!tracked`), as `function` requires.
///
/// # Safety
/// The module's contract.
unsafe fn expect_kind(env: sys::napi_env, cell: &PoolCell, tracked: bool, function: &CStr) -> JsResult<()> {
  if cell.tracked == tracked {
    return Ok(());
  }
  let kind = if tracked { "a tracked pool (Pool)" } else { "an untracked pool (pLimit)" };
  let message = format!("async-shape: {} is for {kind} only (internal API misuse)", function.to_string_lossy());
  let message = std::ffi::CString::new(message).expect("no NUL in the message");
  // SAFETY: the module's contract.
  unsafe { throw_error(env, &message) };
  Err(Thrown)
}

/// The pool's core, borrowed for one step that runs no JS, or, if it is borrowed already (see the
/// module's note on re-entrancy), `Err` with an Error thrown.
///
/// # Safety
/// The module's contract.
unsafe fn borrow_core(env: sys::napi_env, cell: &PoolCell) -> JsResult<RefMut<'_, PoolCore<Waiter>>> {
  cell.core.try_borrow_mut().map_err(|_| {
    // SAFETY: the module's contract.
    unsafe { throw_error(env, c"async-shape: pool re-entered") };
    Thrown
  })
}

/// A token from JS: `None` for anything that is not an integer in 0..2^53 (it names no task;
/// never `NO_ID`, which the core reads as "an untracked task").
///
/// # Safety
/// The module's contract.
unsafe fn token_of(env: sys::napi_env, v: sys::napi_value) -> Option<Token> {
  // SAFETY: the module's contract.
  let t = unsafe { f64_of(env, v) };
  ((0.0..9_007_199_254_740_992.0).contains(&t) && t.fract() == 0.0).then_some(t as Token)
}

/// A started task as JS sees it: its token when tracked, `undefined` when untracked (`NO_ID`).
///
/// # Safety
/// The module's contract.
unsafe fn token_value(env: sys::napi_env, id: Token) -> sys::napi_value {
  // SAFETY: the module's contract.
  unsafe {
    if id == NO_ID {
      undefined(env)
    } else {
      num(env, id as f64)
    }
  }
}

/// Starts what left the queue: gates resolve (with `token_value`, or with the task's name); batch
/// items call `onBatch(id)`. Whatever JS throws meanwhile (`onBatch`, or a hook while a gate
/// resolves), every one starts; `first` holds the first exception, for the caller to throw at its
/// end ([`FirstThrow::finish`]).
///
/// # Safety
/// The module's contract. Runs JS: call with the core unborrowed.
unsafe fn open(env: sys::napi_env, cell: &PoolCell, started: &[(Token, Waiter)], first: &mut FirstThrow) {
  for &(id, waiter) in started {
    // SAFETY: the module's contract. Each deferred is settled once: it left the queue just now,
    // exactly once. `cell.on_batch` is live: it is deleted only with the pool's last `Rc`, and the
    // running function holds one. `first.step` took any exception of the previous step, so these
    // calls run.
    let step = unsafe {
      match waiter {
        Waiter::Gate(gate) => {
          js_check(env, sys::napi_resolve_deferred(env, gate, token_value(env, id)), "napi_resolve_deferred")
        }
        Waiter::Plain(gate, name) => {
          js_check(env, sys::napi_resolve_deferred(env, gate, num(env, f64::from(name))), "napi_resolve_deferred")
        }
        Waiter::Batch(batch) => {
          if cell.on_batch.is_null() {
            continue;
          }
          let mut callback = ptr::null_mut();
          check(sys::napi_get_reference_value(env, cell.on_batch, &mut callback), "napi_get_reference_value");
          if callback.is_null() {
            // Collected: then nothing can start the run's items, and nothing waits for them.
            continue;
          }
          let args = [num(env, f64::from(batch))];
          let mut ignored = ptr::null_mut();
          let status = sys::napi_call_function(env, undefined(env), callback, 1, args.as_ptr(), &mut ignored);
          js_check(env, status, "napi_call_function")
        }
      }
    };
    // SAFETY: the module's contract.
    unsafe { first.step(env, step) };
  }
}

/// Rejects gates that will never start: with `reason`, or with `LEFT_PENDING` ("leave the task
/// pending"). Every one is rejected whatever a hook throws; `first` holds the first exception.
///
/// # Safety
/// The module's contract. Runs JS: call with the core unborrowed.
unsafe fn shut(
  env: sys::napi_env,
  waiters: impl IntoIterator<Item = Waiter>,
  reason: Option<sys::napi_value>,
  first: &mut FirstThrow,
) {
  for waiter in waiters {
    if let Waiter::Gate(gate) | Waiter::Plain(gate, _) = waiter {
      // SAFETY: the module's contract; the deferred left the queue just now, so this settles it
      // once; `first.step` took any exception of the previous step, so the call runs.
      unsafe {
        let reason = match reason {
          Some(reason) => reason,
          None => num(env, f64::from(LEFT_PENDING)),
        };
        let step = js_check(env, sys::napi_reject_deferred(env, gate, reason), "napi_reject_deferred");
        first.step(env, step);
      }
    }
  }
}

/// Takes off the queue every task the free slots allow.
fn start_all(core: &mut PoolCore<Waiter>, now: u64) -> Vec<(Token, Waiter)> {
  let mut started = Vec::new();
  while let Some(s) = core.start_next(now) {
    started.push(s);
  }
  started
}

/// Submits one task: starts it now when a slot is free and nothing waits (`token_value`), else
/// queues it behind a gate and returns the gate promise.
///
/// # Safety
/// The module's contract.
unsafe fn submit_task(env: sys::napi_env, cell: &PoolCell, priority: i32, parent: Token) -> JsResult<sys::napi_value> {
  // `Waiter::Gate` for a task without a name: tracked pools name it by its token.
  // SAFETY: the module's contract.
  unsafe { submit_waiting(env, cell, priority, parent, Waiter::Gate) }
}

/// `submit_task` for a task whose gate makes its waiter (`Waiter::Gate`, or `Waiter::Plain` with
/// a name).
///
/// # Safety
/// The module's contract.
unsafe fn submit_waiting(
  env: sys::napi_env,
  cell: &PoolCell,
  priority: i32,
  parent: Token,
  waiter: impl FnOnce(Gate) -> Waiter,
) -> JsResult<sys::napi_value> {
  let now = now_ns();
  // SAFETY: the module's contract. The core is borrowed for the bookkeeping only: making the gate
  // and opening what started may run JS.
  unsafe {
    let started_now = borrow_core(env, cell)?.try_start_now(now, parent);
    if let Some(id) = started_now {
      return Ok(token_value(env, id));
    }
    // The gate: a promise whose deferred goes into the queue (none when a promise hook threw).
    let (gate, promise): (Gate, _) = new_promise(env)?;
    let started = {
      let mut core = borrow_core(env, cell)?;
      core.enqueue(priority, waiter(gate), now, parent);
      // p-limit starts the queue's head at once when a slot is free (after a concurrency change).
      core.start_next(now)
    };
    let mut first = FirstThrow::new();
    if let Some(s) = started {
      open(env, cell, &[s], &mut first);
    }
    first.finish(env)?;
    Ok(promise)
  }
}

// Each entry below runs its body under `guarded` (a panic becomes a thrown Error).
raw_entries! {
  js_submit => submit,
  js_submit_batch => submit_batch,
  js_submit_plain => submit_plain,
  js_last_id => last_id,
  js_release_timed => release_timed,
  js_release => release,
  js_finish => finish,
  js_active => active,
  js_pending => pending,
  js_concurrency => concurrency,
  js_set_concurrency => set_concurrency,
  js_drain => drain,
  js_clear => clear,
  js_remove => remove,
  js_deadlocked => deadlocked,
  js_arm_deadline => arm_deadline,
  js_expire => expire,
  js_next_deadline => next_deadline,
  js_stats => stats,
  js_adaptive_info => adaptive_info,
  js_fleet_stats => fleet_stats,
  js_ready => ready,
  js_close => close,
}

// The bodies. Each one's `# Safety` is `with_pool`'s, and its one `unsafe` block passes only this
// call's env and values to the module's `unsafe fn`s and to N-API.

/// `submit(priority, parent)`, tracked pools: the task's token when the task starts now;
/// otherwise its gate promise (the token is then `lastId()`). `parent` is the token of the
/// running task that submits it, or undefined (a number that is no token is no parent either).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn submit(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<2>(env, info, |[priority, parent], cell| {
      expect_kind(env, cell, true, c"submit")?;
      let parent = if is_undefined(env, parent) { NO_ID } else { token_of(env, parent).unwrap_or(NO_ID) };
      submit_task(env, cell, i32_of(env, priority), parent)
    })
  }
}

/// `submitBatch(batchId, count)`, untracked pools. Starts as many of `count` items as slots allow
/// and returns that number (JS runs them); the rest wait as one queue entry, each started later
/// through `onBatch(batchId)`.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn submit_batch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<2>(env, info, |[batch, count], cell| {
      expect_kind(env, cell, false, c"submitBatch")?;
      let (batch, count) = (u32_of(env, batch), u32_of(env, count));
      let started = {
        let mut core = borrow_core(env, cell)?;
        let started = core.try_start_many(count);
        core.enqueue_run(Waiter::Batch(batch), count - started);
        started
      };
      Ok(num(env, f64::from(started)))
    })
  }
}

/// `submitPlain()`: `submit` at priority 0 without a parent (the common case: every p-limit task,
/// Pool#map items), on either kind of pool. `submitPlain(name)`, untracked pools only: the same,
/// but a queued task's gate resolves with `name` (a u32 above `UNNAMED`), and `clear` reports it
/// as `cleared_name(name)`.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn submit_plain(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<1>(env, info, |[name], cell| {
      if is_undefined(env, name) {
        return submit_task(env, cell, 0, NO_ID);
      }
      expect_kind(env, cell, false, c"submitPlain(name)")?;
      let name = u32_of(env, name);
      submit_waiting(env, cell, 0, NO_ID, |gate| Waiter::Plain(gate, name))
    })
  }
}

/// `lastId()`, tracked pools: the token that the last queued `submit` got.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn last_id(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      expect_kind(env, cell, true, c"lastId")?;
      let id = borrow_core(env, cell)?.last_id();
      Ok(num(env, id as f64))
    })
  }
}

/// `releaseTimed(ms, outcome)`, untracked pools: a task of an adaptive pool settled after `ms`
/// (outcome `FULFILLED`, `REJECTED` or `DROPPED`). Starts what the (maybe changed) limit allows.
/// Returns `LIMIT_CHANGED` when the limit changed, else `FREED`.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn release_timed(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<2>(env, info, |[ms, outcome], cell| {
      expect_kind(env, cell, false, c"releaseTimed")?;
      let now = now_ns();
      let (ms, outcome) = (f64_of(env, ms), Outcome::from_code(u32_of(env, outcome)));
      let (changed, started) = {
        let mut core = borrow_core(env, cell)?;
        let inflight = core.active();
        core.finish(NO_ID, outcome, now);
        let changed = core.observe((ms.max(0.0) * 1e6) as u64, inflight, outcome, now);
        (changed, start_all(&mut core, now))
      };
      let mut first = FirstThrow::new();
      open(env, cell, &started, &mut first);
      first.finish(env)?;
      Ok(num(env, f64::from(if changed { LIMIT_CHANGED } else { FREED })))
    })
  }
}

/// `release()`, untracked pools: a task settled; starts the next one. When that is an item of a
/// `limit.map` run, returns the run's id for the caller to start it (rather than calling
/// `onBatch` from here); otherwise undefined.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn release(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      expect_kind(env, cell, false, c"release")?;
      let now = now_ns();
      let next = {
        let mut core = borrow_core(env, cell)?;
        core.finish(NO_ID, Outcome::Fulfilled, now);
        core.start_next(now)
      };
      match next {
        Some((_, Waiter::Batch(batch))) => Ok(num(env, f64::from(batch))),
        Some(s) => {
          let mut first = FirstThrow::new();
          open(env, cell, &[s], &mut first);
          first.finish(env)?;
          Ok(ptr::null_mut())
        }
        None => Ok(ptr::null_mut()),
      }
    })
  }
}

/// `finish(token, outcome)`, tracked pools: a task settled or was abandoned (outcome `FULFILLED`,
/// `REJECTED` or `DROPPED`). Starts what the freed slot (or a raised adaptive limit) allows.
/// Returns `NOT_RUNNING` if it had already finished (or the token is stale, or no token at all),
/// `FREED` if finished, `LIMIT_CHANGED` if finished and the limit changed.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn finish(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<2>(env, info, |[token, outcome], cell| {
      expect_kind(env, cell, true, c"finish")?;
      let now = now_ns();
      let (id, outcome) = (token_of(env, token), Outcome::from_code(u32_of(env, outcome)));
      let Some(id) = id else {
        return Ok(num(env, f64::from(NOT_RUNNING)));
      };
      let code = {
        let mut core = borrow_core(env, cell)?;
        if !core.finish(id, outcome, now) {
          NOT_RUNNING
        } else if core.take_limit_change() {
          LIMIT_CHANGED
        } else {
          FREED
        }
      };
      if code != NOT_RUNNING {
        // An iterative drain, one gate at a time (no Vec per call), the core unborrowed while a
        // gate opens.
        let mut first = FirstThrow::new();
        loop {
          let next = borrow_core(env, cell)?.start_next(now);
          match next {
            Some(s) => open(env, cell, &[s], &mut first),
            None => break,
          }
        }
        first.finish(env)?;
      }
      Ok(num(env, f64::from(code)))
    })
  }
}

/// `active()`: tasks holding a slot.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn active(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      let active = borrow_core(env, cell)?.active();
      Ok(num(env, f64::from(active)))
    })
  }
}

/// `pending()`: tasks waiting in the queue.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn pending(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      let pending = borrow_core(env, cell)?.pending();
      Ok(num(env, f64::from(pending)))
    })
  }
}

/// `concurrency()`: the limit (an adaptive pool's current one).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn concurrency(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      let concurrency = borrow_core(env, cell)?.concurrency();
      Ok(num(env, concurrency))
    })
  }
}

/// `setConcurrency(c)`: takes effect for the next start; JS drains in a microtask, as p-limit does.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn set_concurrency(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<1>(env, info, |[c], cell| {
      let c = f64_of(env, c);
      borrow_core(env, cell)?.set_concurrency(c);
      Ok(ptr::null_mut())
    })
  }
}

/// `drain()`: starts queued tasks while slots are free.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn drain(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      let started = start_all(&mut *borrow_core(env, cell)?, now_ns());
      let mut first = FirstThrow::new();
      open(env, cell, &started, &mut first);
      first.finish(env)?;
      Ok(ptr::null_mut())
    })
  }
}

/// `clear(reason?)`: empties the queue. Gates are rejected with `reason`, or left to never start,
/// all of them before the answer is made. Returns, in start order, the cleared task tokens
/// (tracked pools reject their promises), or for an untracked pool one element per queue entry:
/// the batch id for a batch (never negative), `cleared_name(name)` for a task named by
/// `submitPlain(name)` (`cleared_name(UNNAMED)` for a task without one).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn clear(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<1>(env, info, |[reason], cell| {
      let reason = if is_undefined(env, reason) { None } else { Some(reason) };
      let cleared = borrow_core(env, cell)?.clear();
      // Every gate is settled first: nothing below can leave one waiting.
      let mut first = FirstThrow::new();
      shut(env, cleared.iter().map(|&(_, waiter)| waiter), reason, &mut first);
      first.finish(env)?;
      numbers(
        env,
        cleared.iter().map(|&(id, waiter)| match waiter {
          Waiter::Batch(batch) => f64::from(batch),
          Waiter::Gate(_) if id == NO_ID => cleared_name(UNNAMED),
          Waiter::Plain(_, name) => cleared_name(name),
          Waiter::Gate(_) => id as f64,
        }),
      )
    })
  }
}

/// `remove(token)`, tracked pools: takes a queued task out (its signal aborted); false if it is
/// not queued (its gate opened, or the token is stale or no token at all).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn remove(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<1>(env, info, |[token], cell| {
      expect_kind(env, cell, true, c"remove")?;
      let waiter = match token_of(env, token) {
        Some(id) => borrow_core(env, cell)?.remove(id),
        None => None,
      };
      let removed = waiter.is_some();
      let mut first = FirstThrow::new();
      shut(env, waiter, None, &mut first);
      first.finish(env)?;
      Ok(boolean(env, removed))
    })
  }
}

/// `deadlocked()`, tracked pools: whether every running task waits on a task queued in this pool.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn deadlocked(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      expect_kind(env, cell, true, c"deadlocked")?;
      let deadlocked = borrow_core(env, cell)?.deadlocked();
      Ok(boolean(env, deadlocked))
    })
  }
}

/// `armDeadline(token, ms)`, tracked pools: ms until the earliest deadline when this one became
/// it, else `NO_DEADLINE` (also for a stale token or no token at all). `ms` is clamped to
/// 0..=2^31-1 (NaN is 0), the most a JS timer takes.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn arm_deadline(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<2>(env, info, |[token, ms], cell| {
      expect_kind(env, cell, true, c"armDeadline")?;
      let (id, ms) = (token_of(env, token), f64_of(env, ms));
      let ms = if ms.is_nan() { 0.0 } else { ms.clamp(0.0, MAX_TIMER_MS) };
      let now = now_ns();
      let earliest = match id {
        Some(id) => borrow_core(env, cell)?.arm_deadline(id, (ms * 1e6) as u64, now),
        None => false,
      };
      Ok(num(env, if earliest { ms } else { NO_DEADLINE }))
    })
  }
}

/// `expire()`, tracked pools: tokens of running tasks past their deadline.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn expire(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      expect_kind(env, cell, true, c"expire")?;
      let due = borrow_core(env, cell)?.expire(now_ns());
      numbers(env, due.into_iter().map(|id| id as f64))
    })
  }
}

/// `nextDeadline()`, tracked pools: ms until the earliest live deadline, or `NO_DEADLINE`.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn next_deadline(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      expect_kind(env, cell, true, c"nextDeadline")?;
      let next = borrow_core(env, cell)?.next_deadline_in(now_ns());
      Ok(num(env, next.map_or(NO_DEADLINE, |ns| ns as f64 / 1e6)))
    })
  }
}

/// `stats(reset)`: the Little's-law snapshot; `reset` starts a new window after reading.
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn stats(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<1>(env, info, |[reset], cell| {
      let Some(flag) = bool_of(env, reset) else {
        throw_type_error(env, c"Expected `reset` to be a boolean");
        return Err(Thrown);
      };
      let now = now_ns();
      let s = {
        let mut core = borrow_core(env, cell)?;
        let s = core.stats(now);
        if flag {
          core.reset_stats(now);
        }
        s
      };
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
      let obj = object(env);
      define(env, obj, &fields.map(|(name, v)| (name, num(env, v))))?;
      Ok(obj)
    })
  }
}

/// `adaptiveInfo()`: an adaptive pool's controller state, or undefined: `{algorithm, limit,
/// minRtt, rtt, signal, history}` with times in ms (history: `[time, limit]` pairs, laid out as
/// `HISTORY_TIME` and `HISTORY_LIMIT` say, `time` since the pool's start).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn adaptive_info(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe {
    with_pool::<0>(env, info, |[], cell| {
      let state = {
        let core = borrow_core(env, cell)?;
        core.estimate().map(|(algorithm, estimate)| {
          (algorithm, estimate, core.concurrency(), core.limit_history().copied().collect::<Vec<_>>())
        })
      };
      let Some((algorithm, estimate, limit, history)) = state else {
        return Ok(undefined(env));
      };
      let name: &CStr = match algorithm {
        Algorithm::Vegas => c"vegas",
        Algorithm::Gradient => c"gradient",
        Algorithm::Aimd => c"aimd",
      };
      let mut name_value = ptr::null_mut();
      check(sys::napi_create_string_utf8(env, name.as_ptr(), -1, &mut name_value), "napi_create_string_utf8");
      let mut pairs = Vec::with_capacity(history.len());
      for (t, limit) in history {
        let mut pair = [0.0; HISTORY_PAIR_LEN];
        pair[HISTORY_TIME] = t as f64 / 1e6;
        pair[HISTORY_LIMIT] = limit;
        pairs.push(numbers(env, pair.into_iter())?);
      }
      let obj = object(env);
      define(
        env,
        obj,
        &[
          (c"algorithm", name_value),
          (c"limit", num(env, limit)),
          (c"minRtt", num(env, estimate.min_rtt / 1e6)),
          (c"rtt", num(env, estimate.rtt / 1e6)),
          (c"signal", num(env, estimate.signal)),
          (c"history", array(env, &pairs)?),
        ],
      )?;
      Ok(obj)
    })
  }
}

/// `fleetStats()`, shared pools: the fleet's figures (see `crate::fleet`).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn fleet_stats(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe { with_pool::<0>(env, info, |[], cell| Ok(expect_fleet(env, cell)?.stats(env))) }
}

/// `ready()`, shared pools: resolves once registered (see `crate::fleet`).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn ready(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe { with_pool::<0>(env, info, |[], cell| expect_fleet(env, cell)?.ready(env)) }
}

/// `close()`, shared pools: returns the permits and closes the connections (see `crate::fleet`).
///
/// # Safety
/// [`with_pool`]'s.
unsafe fn close(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: this fn's contract; this call's env and values only.
  unsafe { with_pool::<0>(env, info, |[], cell| expect_fleet(env, cell)?.close(env)) }
}

/// The pool's fleet side, or `Err` with an Error thrown (a local pool has no fleet functions,
/// so only a misuse of this internal API gets here).
///
/// # Safety
/// The module's contract.
unsafe fn expect_fleet(env: sys::napi_env, cell: &PoolCell) -> JsResult<&FleetBinding> {
  cell.fleet.as_ref().ok_or_else(|| {
    // SAFETY: the module's contract.
    unsafe { throw_error(env, c"async-shape: not a shared pool (internal API misuse)") };
    Thrown
  })
}

/// The finalizer of each pool function: drops the function's `Rc` of the pool; the last one also
/// deletes the weak reference to `onBatch`. Runs under `contained`: a panic must not unwind into
/// Node (nothing can be thrown from a finalizer).
///
/// # Safety
/// N-API calls it once per function made by [`create_pool`], on the JS thread, with the data that
/// function was made with, once the function can no longer run.
unsafe extern "C" fn drop_shared(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  contained("a pool function's finalizer", || {
    // SAFETY: `data` is the `Box<Shared>` that `create_pool` leaked for this function; nothing
    // else frees it (`free_shared` frees only data no function got).
    let shared = unsafe { Box::from_raw(data.cast::<Shared>()) };
    // SAFETY: the pool's env, on its JS thread.
    unsafe { release_on_batch(env, &shared) };
  });
}

/// Frees the data made for a pool function that `method_table` could not make. The caller still
/// holds an `Rc` of the pool, so this is never the last one.
///
/// # Safety
/// `data` is a `Box<Shared>` leaked for a pool function that was not made; it is freed once.
unsafe fn free_shared(data: *mut c_void) {
  // SAFETY: the contract: this is the box's only owner.
  drop(unsafe { Box::from_raw(data.cast::<Shared>()) });
}

/// Deletes the weak reference to `onBatch` when `shared` is the pool's last `Rc`.
///
/// # Safety
/// `env` is the pool's env, on its JS thread.
unsafe fn release_on_batch(env: sys::napi_env, shared: &Shared) {
  if Rc::strong_count(shared) == 1 && !shared.on_batch.is_null() {
    // SAFETY: the contract; `on_batch` is the pool's reference, not deleted yet (this is the last
    // `Rc`, dropped once).
    let status = unsafe { sys::napi_delete_reference(env, shared.on_batch) };
    // In a finalizer nothing can be thrown (a failed assertion is `contained` by `drop_shared`);
    // it fails only on a bug (a wrong env or reference), and ignoring it leaks one reference that
    // the env frees with itself anyway.
    debug_assert_eq!(status, sys::Status::napi_ok, "napi_delete_reference");
  }
}

/// The functions of a pool, by their JS names.
const METHODS: [(&CStr, Callback); 20] = [
  (c"releaseTimed", js_release_timed),
  (c"adaptiveInfo", js_adaptive_info),
  (c"submit", js_submit),
  (c"submitPlain", js_submit_plain),
  (c"submitBatch", js_submit_batch),
  (c"lastId", js_last_id),
  (c"release", js_release),
  (c"finish", js_finish),
  (c"active", js_active),
  (c"pending", js_pending),
  (c"concurrency", js_concurrency),
  (c"setConcurrency", js_set_concurrency),
  (c"drain", js_drain),
  (c"clear", js_clear),
  (c"remove", js_remove),
  (c"deadlocked", js_deadlocked),
  (c"armDeadline", js_arm_deadline),
  (c"expire", js_expire),
  (c"nextDeadline", js_next_deadline),
  (c"stats", js_stats),
];

/// A shared pool's functions, besides `METHODS`.
const FLEET_METHODS: [(&CStr, Callback); 3] =
  [(c"fleetStats", js_fleet_stats), (c"ready", js_ready), (c"close", js_close)];

/// `createPool`'s `adaptive` option, which makes the limit adaptive (a cold path, so an object by
/// name): `algorithm` is `wire::VEGAS`, `wire::GRADIENT` or `wire::AIMD`, and the bounds are
/// checked by the JS layer (`parseConcurrency`, `lib/internal/validate.js`) and made usable here
/// in any case (`Controller::new`).
#[napi(object)]
pub struct AdaptiveOptions {
  pub algorithm: u32,
  pub min: f64,
  pub max: f64,
  pub initial: f64,
}

/// Creates one pool. `tracked` keeps running tasks in slots (abort, timeouts, stats, deadlock
/// detection); p-limit's API needs none of that and runs untracked. `onBatch(id)`, for untracked
/// pools, starts one item of batch `id`. `adaptive` makes the limit adaptive. `shared` makes the
/// limit the fleet's, through Redis (the contract is in `crate::fleet`).
#[napi(
  js_name = "createPool",
  catch_unwind,
  ts_args_type = "concurrency: number, tracked: boolean, onBatch?: (batchId: number) => void, adaptive?: {algorithm: number, min: number, max: number, initial: number}, shared?: {url: string, key: string, leaseMs: number, onStoreDown: number, localConcurrency: number, onEvent: (kind: number, detail?: string) => void, lingerMs?: number, quantumMs?: number, connectTimeoutMs?: number}"
)]
pub fn create_pool<'env>(
  env: &'env Env,
  concurrency: f64,
  tracked: bool,
  on_batch: Option<Unknown<'env>>,
  adaptive: Option<AdaptiveOptions>,
  shared: Option<Unknown<'env>>,
) -> Result<Unknown<'env>> {
  let raw = env.raw();
  let pending = || napi::Error::new(napi::Status::PendingException, "");
  let fleet = match shared {
    None => None,
    // SAFETY: `raw` is this call's env, on its JS thread, and `s` one of this call's values.
    Some(s) => match unsafe { crate::fleet::parse(raw, concurrency, s.raw()) } {
      // SAFETY: the same.
      Ok(parsed) => Some(unsafe { FleetBinding::start(raw, parsed) }.map_err(|Thrown| pending())?),
      Err(Thrown) => return Err(pending()),
    },
  };
  let controller = match adaptive {
    None => None,
    Some(a) => {
      let Some(algorithm) = Algorithm::from_code(a.algorithm) else {
        return Err(napi::Error::new(napi::Status::InvalidArg, "async-shape: unknown adaptive algorithm"));
      };
      Some(Controller::new(algorithm, Bounds { min: a.min, max: a.max, initial: a.initial }))
    }
  };
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
  if let Some(controller) = controller {
    core.set_controller(controller, now_ns());
  }
  if fleet.is_some() {
    // Nothing starts before the fleet grants permits.
    core.set_permits(0, true);
  }
  let is_shared = fleet.is_some();
  let shared: Shared = Rc::new(PoolCell { core: RefCell::new(core), tracked, on_batch: on_batch_ref, fleet });
  let all_methods: Vec<(&CStr, Callback)>;
  let methods: &[(&CStr, Callback)] = if is_shared {
    all_methods = METHODS.iter().chain(FLEET_METHODS.iter()).copied().collect();
    &all_methods
  } else {
    &METHODS
  };
  // SAFETY: `raw` is this call's env, on its JS thread. Each function gets its own leaked
  // `Box<Shared>` as data, freed once: by its finalizer `drop_shared` after the function is
  // collected, or by `free_shared` if the function was not made; the entries reach it only through
  // `with_pool`, while the function runs.
  let made = unsafe {
    method_table(raw, methods, || {
      Some(FunctionData {
        data: Box::into_raw(Box::new(Rc::clone(&shared))).cast(),
        finalize: Some(drop_shared),
        free: free_shared,
      })
    })
  };
  match made {
    Ok(obj) => {
      if let Some(fleet) = &shared.fleet {
        let weak: std::rc::Weak<PoolCell> = Rc::downgrade(&shared);
        // SAFETY: `raw` is this call's env, on its JS thread.
        unsafe { fleet.connect_wakeups(raw, weak) }.map_err(|Thrown| pending())?;
      }
      // SAFETY: `obj` is the object `method_table` just made, a value of this call's scope.
      Ok(unsafe { Unknown::from_raw_unchecked(raw, obj) })
    }
    Err(what) => {
      // SAFETY: this call's env, on its JS thread.
      unsafe { release_on_batch(raw, &shared) };
      Err(napi::Error::from_reason(format!("async-shape: could not make a pool: could not {what}")))
    }
  }
}
