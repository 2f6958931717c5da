//! The watchdog thread (issue #5): one thread for every watched event loop in the process (the main
//! thread's and each worker's). It sees a stall while the loop is still stuck, for `currentStall()`
//! (callable from any thread), attribution samples and the opt-in `logBlocked` line.
//!
//! Each loop publishes a heartbeat `(wall, idle)` from its check callback. The watchdog compares it
//! with the live, thread-safe idle time (`uv_metrics_idle_time`), so a loop asleep in epoll is
//! never taken for a stall. It sleeps until the earliest moment a threshold could be crossed and
//! polls finely only during a stall.
//!
//! No napi here: the clock and the idle-time source are function pointers, so `cargo test` drives
//! the real thread with a fake loop.
//!
//! Soundness: the loop pointer is only ever passed to the idle-time function, and the reaction
//! buffer only ever read, through a [`Registered`], which exists only while the loop is registered
//! ([`unregister`] waits for the watchdog's round); [`LoopShared::new`]'s and
//! [`LoopShared::set_reactions`]'s contracts keep both alive until then.
//!
//! No I/O under a lock: the `logBlocked` line (and the report of a contained panic) is formatted
//! under the registry and `in_flight` locks and written after both are released. A blocked stderr
//! (a pipe nobody drains) then stalls only the watchdog thread, never a JS thread waiting for the
//! registry lock (`enable`, `disable`, `currentStall`, a new monitor, teardown).

use crate::event_loop::sampler::{Attribution, Watchdog};
use crate::event_loop::wire::{REACTION_COUNTER, REACTION_FLAG};
use std::ffi::c_void;
use std::io::Write;
use std::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub type IdleFn = unsafe extern "C" fn(*mut c_void) -> u64;
pub type ClockFn = fn() -> u64;

/// What the watchdog knows about the loop iteration in progress.
#[derive(Default, Clone, Copy)]
pub struct InFlight {
  /// The heartbeat it follows: a new heartbeat means the iteration (and any stall in it) is over.
  pub heartbeat: u64,
  pub attribution: Attribution,
  logged: bool,
  /// libuv's idle time at the watchdog's last round, and whether it had moved since the round
  /// before: the loop is asleep in epoll. After a stall, the iteration's busy time stays above the
  /// threshold until the next check callback, so "busy since the heartbeat" alone would keep
  /// reporting (and sampling) a stall that is over while the loop sleeps.
  seen_idle: u64,
  asleep: bool,
}

/// One loop, as the watchdog and other threads see it.
pub struct LoopShared {
  /// Passed to `idle_fn` only, never dereferenced here (see [`LoopShared::new`]).
  loop_ptr: *mut c_void,
  idle_fn: IdleFn,
  clock: ClockFn,
  /// Seqlock over the heartbeat: odd while the loop thread (its only writer) writes it.
  seq: AtomicU64,
  hb_wall: AtomicU64,
  hb_idle: AtomicU64,
  hb_reactions: AtomicU64,
  /// A monitor on this loop is enabled.
  pub watching: AtomicBool,
  /// The smallest threshold of the enabled monitors, in ns.
  pub threshold: AtomicU64,
  pub log_blocked: AtomicBool,
  /// Set by the watchdog when it sees a stall: the loop thread must take an exact sample at the
  /// end of this iteration (it may otherwise coalesce sub-millisecond iterations).
  pub exact_next: AtomicBool,
  /// The reaction buffer (`REACTION_FLAG`, `REACTION_COUNTER` of
  /// [`wire`](crate::event_loop::wire)), an Int32Array the JS thread writes; null if none.
  reactions: AtomicPtr<AtomicI32>,
  pub in_flight: Mutex<InFlight>,
  pub label: String,
}

// SAFETY: `loop_ptr` is the only field that is not Send and Sync by itself (the reaction buffer is
// an `AtomicPtr`, the rest are atomics, a mutex, fn pointers and a String). This type never
// dereferences it: it only passes it to `idle_fn`, from a `Registered` (any thread, while the loop
// is registered), which `new`'s contract makes sound from any thread.
unsafe impl Send for LoopShared {}
// SAFETY: as for Send: every shared access is through atomics or the mutex, and `loop_ptr` is
// read-only after `new` and used only as `new`'s contract allows.
unsafe impl Sync for LoopShared {}

impl LoopShared {
  /// # Safety
  /// `idle_fn(loop_ptr)` must be sound to call from any thread while this `LoopShared` is
  /// registered with the watchdog ([`register`] to [`unregister`]); libuv's
  /// `uv_metrics_idle_time` is thread-safe, so that holds while the loop is alive. The caller
  /// keeps the loop alive until it has called `unregister` (if it ever registered).
  pub unsafe fn new(loop_ptr: *mut c_void, idle_fn: IdleFn, clock: ClockFn, label: String) -> LoopShared {
    LoopShared {
      loop_ptr,
      idle_fn,
      clock,
      seq: AtomicU64::new(0),
      hb_wall: AtomicU64::new(0),
      hb_idle: AtomicU64::new(0),
      hb_reactions: AtomicU64::new(0),
      watching: AtomicBool::new(false),
      threshold: AtomicU64::new(u64::MAX),
      log_blocked: AtomicBool::new(false),
      exact_next: AtomicBool::new(false),
      reactions: AtomicPtr::new(std::ptr::null_mut()),
      in_flight: Mutex::new(InFlight::default()),
      label,
    }
  }

  pub fn now(&self) -> u64 {
    (self.clock)()
  }

  /// The loop this describes (for its own thread's libuv calls).
  pub fn loop_ptr(&self) -> *mut c_void {
    self.loop_ptr
  }

  /// Attaches the reaction buffer (null detaches it). Only a [`Registered`] reads it.
  ///
  /// # Safety
  /// `ptr` is null or points at `REACTION_SLOTS` 4-byte-aligned Int32s that stay alive, at that
  /// address, until [`unregister`] of this `LoopShared` has returned (for as long as it is
  /// registered; while it is not, nothing reads them). Anything else writes them only with whole
  /// 32-bit stores (JS typed-array stores, which no platform tears), so reading them as atomics
  /// from any thread sees whole values.
  pub unsafe fn set_reactions(&self, ptr: *const AtomicI32) {
    self.reactions.store(ptr.cast_mut(), Ordering::Release);
  }

  /// Called by the loop thread, the heartbeat's only writer, at the end of every iteration.
  ///
  /// A seqlock writer in the pattern of H.-J. Boehm, "Can Seqlocks Get Along With Programming
  /// Language Memory Models?" (MSPC 2012): the odd sequence number is stored before the data,
  /// and the release fence orders it before every data store, so a reader that sees any new data
  /// also sees the odd (or a later) number on its second read; the final release store publishes
  /// the data with the even number. [`last_heartbeat`](Self::last_heartbeat) is the matching
  /// reader.
  pub fn heartbeat(&self, wall: u64, idle: u64, reactions: u32) {
    let s = self.seq.load(Ordering::Relaxed);
    self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    self.hb_idle.store(idle, Ordering::Relaxed);
    self.hb_wall.store(wall, Ordering::Relaxed);
    self.hb_reactions.store(reactions as u64, Ordering::Relaxed);
    self.seq.store(s.wrapping_add(2), Ordering::Release);
  }

  /// `(wall, idle, reactions)` of the last heartbeat, read consistently: the seqlock reader of
  /// Boehm's pattern (see [`heartbeat`](Self::heartbeat)): an acquire load of an even sequence
  /// number, the data (relaxed), an acquire fence, and the number again (relaxed), equal.
  pub fn last_heartbeat(&self) -> (u64, u64, u32) {
    loop {
      let s1 = self.seq.load(Ordering::Acquire);
      if s1 & 1 == 1 {
        std::hint::spin_loop();
        continue;
      }
      let hb = (
        self.hb_wall.load(Ordering::Relaxed),
        self.hb_idle.load(Ordering::Relaxed),
        self.hb_reactions.load(Ordering::Relaxed) as u32,
      );
      fence(Ordering::Acquire);
      if self.seq.load(Ordering::Relaxed) == s1 {
        return hb;
      }
    }
  }

  /// The attribution the watchdog gathered for the stall that followed heartbeat `wall`.
  pub fn take_attribution(&self, wall: u64) -> Attribution {
    let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
    let a = if in_flight.heartbeat == wall { in_flight.attribution } else { Attribution::default() };
    *in_flight = InFlight::default();
    a
  }
}

/// A loop known to be registered with the watchdog for as long as this value lives: only
/// [`with_registered`] and the watchdog's own rounds (both under the registry lock, which
/// [`unregister`] takes) make one. So the loop is alive, and its idle time may be read.
pub struct Registered<'a>(&'a LoopShared);

impl Registered<'_> {
  /// The reaction counter and the in-reaction flag, if a buffer is attached.
  fn reactions(&self) -> Option<(u32, bool)> {
    let p = self.0.reactions.load(Ordering::Acquire);
    if p.is_null() {
      return None;
    }
    // SAFETY: the loop is registered while `self` lives, so a non-null buffer is alive with
    // `REACTION_SLOTS` slots (`set_reactions`'s contract: until `unregister` returns, which waits
    // for the registry lock `self` is made under); both indices are below it (the wire test).
    let (counter, flag) = unsafe { (&*p.add(REACTION_COUNTER), &*p.add(REACTION_FLAG)) };
    Some((counter.load(Ordering::Relaxed) as u32, flag.load(Ordering::Relaxed) != 0))
  }

  /// libuv's idle time (thread-safe).
  fn idle(&self) -> u64 {
    let shared = self.0;
    // SAFETY: the loop is registered while `self` lives, and `LoopShared::new`'s contract makes
    // `idle_fn(loop_ptr)` sound from any thread meanwhile.
    unsafe { (shared.idle_fn)(shared.loop_ptr) }
  }

  /// The stall in progress, if the loop has been busy past `threshold` since its last heartbeat
  /// and is not asleep now: (start, duration so far, reactions so far, attribution so far).
  pub fn current(&self, threshold: u64) -> Option<CurrentStall> {
    let shared = self.0;
    if !shared.watching.load(Ordering::Acquire) {
      return None;
    }
    let (wall, idle, reactions) = shared.last_heartbeat();
    if wall == 0 {
      return None;
    }
    let now = shared.now();
    let idle_now = self.idle();
    let (start, duration) = Watchdog { threshold }.stalled((wall, idle), now, idle_now)?;
    let in_flight = *shared.in_flight.lock().unwrap_or_else(|e| e.into_inner());
    let known = in_flight.heartbeat == wall;
    if known && (in_flight.asleep || idle_now > in_flight.seen_idle) {
      return None;
    }
    let attribution = if known { in_flight.attribution } else { Attribution::default() };
    let counted = self.reactions().map_or(0, |(c, _)| c.wrapping_sub(reactions) as u64);
    Some(CurrentStall { start, duration, reactions: counted, attribution })
  }

  /// One watchdog round for this loop; returns how long the watchdog may sleep for its sake, and
  /// the `logBlocked` line to write (by the caller, once it holds no lock).
  fn watch(&self) -> (u64, Option<String>) {
    let shared = self.0;
    let threshold = shared.threshold.load(Ordering::Acquire);
    let (wall, idle, _) = shared.last_heartbeat();
    if wall == 0 || threshold == u64::MAX {
      return (u64::MAX, None);
    }
    let now = shared.now();
    let idle_now = self.idle();
    let busy = Watchdog::busy_since((wall, idle), now, idle_now);
    let mut in_flight = shared.in_flight.lock().unwrap_or_else(|e| e.into_inner());
    if in_flight.heartbeat != wall {
      // A new iteration. If it already slept, it woke up since: take it as awake.
      *in_flight = InFlight { heartbeat: wall, seen_idle: idle_now, ..InFlight::default() };
    } else {
      in_flight.asleep = idle_now > in_flight.seen_idle;
      in_flight.seen_idle = idle_now;
    }
    if busy < threshold {
      return (threshold - busy, None);
    }
    if in_flight.asleep {
      // The stall is over and the loop sleeps; the next check callback will record it. Look again
      // in a threshold, in case the loop wakes into another block within the same iteration.
      return (threshold, None);
    }
    shared.exact_next.store(true, Ordering::Relaxed);
    if let Some((counter, flag)) = self.reactions() {
      in_flight.attribution.sample(counter, flag);
    }
    let mut line = None;
    if !in_flight.logged && shared.log_blocked.load(Ordering::Relaxed) {
      in_flight.logged = true;
      line = Some(format!(
        "async-shape: the event loop of {} has been blocked for {} ms and still is (stallThreshold {} ms)\n",
        shared.label,
        busy / 1_000_000,
        threshold / 1_000_000
      ));
    }
    (Watchdog { threshold }.sleep_for(busy), line)
  }
}

pub struct CurrentStall {
  pub start: u64,
  pub duration: u64,
  pub reactions: u64,
  pub attribution: Attribution,
}

struct Registry {
  loops: Vec<Arc<LoopShared>>,
  started: bool,
}

struct Watch {
  registry: Mutex<Registry>,
  wake: Condvar,
}

fn watch() -> &'static Watch {
  static WATCH: OnceLock<Watch> = OnceLock::new();
  WATCH.get_or_init(|| Watch {
    registry: Mutex::new(Registry { loops: Vec::new(), started: false }),
    wake: Condvar::new(),
  })
}

fn lock() -> MutexGuard<'static, Registry> {
  watch().registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a loop to the watchdog's rounds, starting the thread on first use.
pub fn register(shared: Arc<LoopShared>) {
  let failed = {
    let mut registry = lock();
    registry.loops.push(shared);
    let mut failed = None;
    if !registry.started {
      registry.started = true;
      // Without the thread, stalls are still recorded when they end (from the check callback);
      // only `currentStall()` and `logBlocked` lose their view of a stall in progress.
      if let Err(e) = std::thread::Builder::new().name("async-shape-watchdog".into()).spawn(run) {
        registry.started = false;
        failed = Some(e);
      }
    }
    watch().wake.notify_one();
    failed
  };
  // Written with no lock held (see the module's note).
  if let Some(e) = failed {
    let _ = writeln!(std::io::stderr(), "async-shape: cannot start the event-loop watchdog thread: {e}");
  }
}

/// Removes a loop. When this returns, the watchdog no longer touches the loop or its buffer.
pub fn unregister(shared: &Arc<LoopShared>) {
  lock().loops.retain(|l| !Arc::ptr_eq(l, shared));
}

/// Something changed (a monitor was enabled, a threshold changed): recompute the sleep now.
pub fn poke() {
  let _registry = lock();
  watch().wake.notify_one();
}

/// Runs `f` with the loop still registered (the loop and its buffer are alive meanwhile), or
/// returns None if it is gone.
pub fn with_registered<T>(shared: &Arc<LoopShared>, f: impl FnOnce(Registered<'_>) -> T) -> Option<T> {
  let registry = lock();
  registry.loops.iter().any(|l| Arc::ptr_eq(l, shared)).then(|| f(Registered(shared)))
}

/// Whether a contained panic of the watchdog has been reported (once per process).
static REPORTED: AtomicBool = AtomicBool::new(false);

fn run() {
  let mut registry = lock();
  loop {
    let mut sleep = 1_000_000_000u64;
    // What to write to stderr once the registry lock is released (see the module's note).
    let mut lines = Vec::new();
    for shared in registry.loops.iter().filter(|l| l.watching.load(Ordering::Acquire)) {
      // A panic here would end the thread silently: contain it, report it once, keep watching.
      match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Registered(shared).watch())) {
        Ok((next, line)) => {
          sleep = sleep.min(next);
          lines.extend(line);
        }
        Err(payload) => {
          if !REPORTED.swap(true, Ordering::Relaxed) {
            let message = crate::panic_message(&*payload);
            lines.push(format!("async-shape: internal error in the event-loop watchdog: {message}\n"));
          }
        }
      }
    }
    if !lines.is_empty() {
      drop(registry);
      let mut stderr = std::io::stderr().lock();
      for line in lines {
        let _ = stderr.write_all(line.as_bytes());
      }
      drop(stderr);
      registry = lock();
    }
    registry = match watch().wake.wait_timeout(registry, Duration::from_nanos(sleep.max(200_000))) {
      Ok((guard, _)) => guard,
      Err(poisoned) => poisoned.into_inner().0,
    };
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::AtomicU64;
  use std::time::Instant;

  const MS: u64 = 1_000_000;

  fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
  }

  /// A fake loop: its "idle time" is an AtomicU64.
  ///
  /// # Safety
  /// `p` points at a live AtomicU64 (the tests leak theirs).
  unsafe extern "C" fn fake_idle(p: *mut c_void) -> u64 {
    // SAFETY: the function's contract.
    unsafe { (*(p as *const AtomicU64)).load(Ordering::SeqCst) }
  }

  /// A loop for the tests: a leaked fake idle time and a leaked reaction buffer.
  fn fake_loop(clock: ClockFn) -> (&'static AtomicU64, &'static [AtomicI32; 2], Arc<LoopShared>) {
    let idle = Box::leak(Box::new(AtomicU64::new(0)));
    let reactions = Box::leak(Box::new([AtomicI32::new(0), AtomicI32::new(0)]));
    // SAFETY: `fake_idle` reads the AtomicU64 at `idle`, leaked: alive for the process, any thread.
    let shared = unsafe { LoopShared::new(idle as *const AtomicU64 as *mut c_void, fake_idle, clock, "test".into()) };
    // SAFETY: `reactions` is two AtomicI32s (REACTION_SLOTS), leaked: alive for the process.
    unsafe { shared.set_reactions(reactions.as_ptr()) };
    (idle, reactions, Arc::new(shared))
  }

  /// The fake clock of `watchdog_rounds_are_deterministic` (no other test reads it).
  static FAKE_NOW: AtomicU64 = AtomicU64::new(1);

  fn fake_clock() -> u64 {
    FAKE_NOW.load(Ordering::SeqCst)
  }

  /// The watchdog's rounds, driven by hand on a fake clock and a fake loop: what it sees and
  /// samples does not depend on the scheduler.
  #[test]
  fn watchdog_rounds_are_deterministic() {
    let (idle, reactions, shared) = fake_loop(fake_clock);
    // Driven by hand, unregistered: the fake loop is alive for the process, as `Registered` needs.
    let registered = Registered(&shared);
    shared.threshold.store(20 * MS, Ordering::SeqCst);
    shared.watching.store(true, Ordering::SeqCst);
    let tick = |sleeping: bool| {
      FAKE_NOW.fetch_add(MS, Ordering::SeqCst);
      if sleeping {
        idle.fetch_add(MS, Ordering::SeqCst);
      }
      let _ = registered.watch();
    };

    // Asleep in epoll: idle time grows with the wall clock.
    shared.heartbeat(fake_clock(), 0, 0);
    for _ in 0..60 {
      tick(true);
    }
    assert!(registered.current(20 * MS).is_none(), "a sleeping loop is not stalled");

    // Busy: a burst of reactions, idle time frozen.
    let hb = fake_clock();
    shared.heartbeat(hb, idle.load(Ordering::SeqCst), 0);
    for _ in 0..80 {
      reactions[1].fetch_add(10, Ordering::SeqCst);
      tick(false);
    }
    let stall = registered.current(20 * MS).expect("the stall is seen while it lasts");
    assert_eq!((stall.start, stall.duration, stall.reactions), (hb, 80 * MS, 800));
    assert!(shared.exact_next.load(Ordering::SeqCst), "the loop is asked for an exact sample");

    // The burst ends and the loop sleeps in epoll before its next check callback: the iteration's
    // busy time stays above the threshold, but nothing is stalled now and nothing is sampled.
    let samples_then = shared.in_flight.lock().unwrap().attribution.samples;
    for _ in 0..60 {
      tick(true);
    }
    assert!(registered.current(20 * MS).is_none(), "asleep after the stall");
    let attribution = shared.take_attribution(hb);
    assert_eq!(attribution.samples, samples_then, "no samples while asleep");
    assert_eq!(attribution.samples, 80 - 19, "one sample a round from the threshold on");
    assert_eq!(attribution.classify(stall.reactions), crate::event_loop::sampler::StallKind::MicrotaskBurst);

    // One long reaction: the in-reaction flag set, the counter still.
    let hb = fake_clock();
    shared.heartbeat(hb, idle.load(Ordering::SeqCst), reactions[1].load(Ordering::SeqCst) as u32);
    reactions[1].fetch_add(1, Ordering::SeqCst);
    reactions[0].store(1, Ordering::SeqCst);
    for _ in 0..50 {
      tick(false);
    }
    reactions[0].store(0, Ordering::SeqCst);
    let stall = registered.current(20 * MS).expect("the long reaction is a stall");
    assert_eq!(stall.reactions, 1);
    let attribution = shared.take_attribution(hb);
    assert_eq!(attribution.classify(stall.reactions), crate::event_loop::sampler::StallKind::LongMicrotask);
  }

  /// One run against the real watchdog thread with a fake loop on the real clock. Its timing
  /// depends on the scheduler (a loaded machine can starve any thread for milliseconds), so only
  /// what must hold whatever the scheduling is checked, a failed run is an `Err`, and the test
  /// retries; the exact sampling is `watchdog_rounds_are_deterministic`'s.
  fn stall_in_flight_scenario() -> Result<(), String> {
    let (idle, reactions, shared) = fake_loop(clock);
    shared.threshold.store(20 * MS, Ordering::SeqCst);
    shared.watching.store(true, Ordering::SeqCst);
    register(shared.clone());
    let result = (|| {
      let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
      // Asleep in epoll: idle time grows with the wall clock.
      let hb = clock();
      shared.heartbeat(hb, 0, 0);
      let t0 = clock();
      while clock() - t0 < 60 * MS {
        idle.store(clock() - hb, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
      }
      check(with_registered(&shared, |s| s.current(20 * MS)).unwrap().is_none(), "a sleeping loop is not stalled")?;

      // Busy: a burst of reactions, idle time frozen.
      let hb = clock();
      shared.heartbeat(hb, idle.load(Ordering::SeqCst), 0);
      while clock() - hb < 80 * MS {
        reactions[1].fetch_add(1, Ordering::SeqCst);
        std::hint::spin_loop();
      }
      let stall = with_registered(&shared, |s| s.current(20 * MS))
        .unwrap()
        .ok_or_else(|| "the stall is seen while it lasts".to_string())?;
      check(stall.duration >= 80 * MS && stall.start >= hb, "the stall's start and duration")?;
      check(stall.reactions > 0, "the stall's reactions")?;
      // The loop sleeps again: the watchdog sees it within a few of its rounds.
      let asleep_from = clock();
      let idle_then = idle.load(Ordering::SeqCst);
      let mut asleep = false;
      while !asleep && clock() - asleep_from < 2_000 * MS {
        idle.store(idle_then + (clock() - asleep_from), Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
        asleep =
          clock() - asleep_from >= 60 * MS && with_registered(&shared, |s| s.current(20 * MS)).unwrap().is_none();
      }
      check(asleep, "asleep after the stall")?;
      check(shared.take_attribution(hb).samples > 0, "the watchdog thread sampled the stall")
    })();
    unregister(&shared);
    if with_registered(&shared, |_| ()).is_some() {
      return Err("still registered after unregister".into());
    }
    result
  }

  #[test]
  fn the_watchdog_thread_sees_a_stall_in_flight_and_not_a_sleeping_loop() {
    let mut failures = Vec::new();
    for _ in 0..5 {
      match stall_in_flight_scenario() {
        Ok(()) => return,
        Err(e) => failures.push(e),
      }
    }
    panic!("5 runs failed: {failures:?}");
  }
}
