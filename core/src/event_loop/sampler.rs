//! Event-loop telemetry's core (issue #5), in pure Rust: the callers pass times in ns.
//!
//! - `LoopSampler`: one sample per loop iteration, `busy = Δwall − Δidle` between two check
//!   callbacks (`idle` from libuv's `uv_metrics_idle_time`), so there is no timer resolution floor
//!   and no forced wake-up. `reset()` keeps the iteration in progress (a stall that straddles a
//!   reset lands in the new window, where perf_hooks loses it), and `enable()` starts from now
//!   (perf_hooks records the disabled gap as a phantom delay).
//! - `Watchdog`: decides, from another thread, whether the loop is stalled *now*: the last
//!   heartbeat is older than the threshold and libuv's idle time has not moved since, so a loop
//!   asleep in epoll is not taken for a stall.
//! - `Attribution`: what kept the loop busy, from samples of a reaction counter and an
//!   "in a reaction" flag taken during the stall: a macrotask, a burst of microtasks, one long
//!   microtask, or a mix.
//!
//! - `RecentWindow`: the recent max and utilization, for `pressure()`.
//!
//! The addon (`src/event_loop/mod.rs`) feeds these from a libuv check handle; [`watchdog`]
//! (`core/src/event_loop/watchdog.rs`) runs the watchdog thread.
//!
//! [`watchdog`]: crate::event_loop::watchdog

use crate::histogram::Histogram;
use std::collections::VecDeque;

#[derive(Default)]
pub struct LoopSampler {
  enabled: bool,
  /// (wall, idle) at the previous iteration.
  last: Option<(u64, u64)>,
  /// (wall, idle) when the current window started.
  window: (u64, u64),
  histogram: Histogram,
}

impl LoopSampler {
  pub fn enable(&mut self, now: u64, idle: u64) {
    if !self.enabled {
      self.enabled = true;
      self.last = Some((now, idle));
      self.window = (now, idle);
    }
  }

  pub fn disable(&mut self) {
    self.enabled = false;
    self.last = None;
  }

  pub fn is_enabled(&self) -> bool {
    self.enabled
  }

  /// One loop iteration ended (the check callback ran). Returns the busy time recorded, if any.
  pub fn on_iteration(&mut self, now: u64, idle: u64) -> Option<u64> {
    if !self.enabled {
      return None;
    }
    let busy = self.last.map(|(w, i)| now.saturating_sub(w).saturating_sub(idle.saturating_sub(i)));
    self.last = Some((now, idle));
    if let Some(b) = busy {
      self.histogram.record(b);
    }
    busy
  }

  /// Starts a new window. The iteration in progress is kept: a stall that straddles the reset is
  /// recorded when it ends.
  pub fn reset(&mut self, now: u64, idle: u64) {
    self.histogram.reset();
    self.window = (now, idle);
  }

  pub fn histogram(&self) -> &Histogram {
    &self.histogram
  }

  /// Event-loop utilization over the window, as `performance.eventLoopUtilization` defines it:
  /// the share of wall time not spent idle in the poll phase.
  pub fn utilization(&self, now: u64, idle: u64) -> f64 {
    let wall = now.saturating_sub(self.window.0);
    if wall == 0 {
      return 0.0;
    }
    let idle = idle.saturating_sub(self.window.1).min(wall);
    1.0 - idle as f64 / wall as f64
  }
}

pub struct Watchdog {
  pub threshold: u64,
}

impl Watchdog {
  /// Time the loop has spent busy since its last heartbeat `(wall, idle)`: wall time minus the
  /// time libuv has slept in epoll since (`idle_now` is libuv's live idle time, which includes a
  /// sleep in progress). A loop asleep in epoll is therefore never taken for a stall.
  pub fn busy_since(heartbeat: (u64, u64), now: u64, idle_now: u64) -> u64 {
    now.saturating_sub(heartbeat.0).saturating_sub(idle_now.saturating_sub(heartbeat.1))
  }

  /// The stall in progress, as (start, duration so far): busy for at least the threshold since the
  /// last heartbeat. It started when the loop last stopped sleeping.
  pub fn stalled(&self, heartbeat: (u64, u64), now: u64, idle_now: u64) -> Option<(u64, u64)> {
    let busy = Self::busy_since(heartbeat, now, idle_now);
    (busy >= self.threshold).then_some((now - busy, busy))
  }

  /// How long the watchdog may sleep: until the earliest moment the threshold could be crossed
  /// when not stalled, and a fine poll (for attribution samples) while stalled.
  pub fn sleep_for(&self, busy: u64) -> u64 {
    if busy >= self.threshold {
      (self.threshold / 25).clamp(1_000_000, 2_000_000)
    } else {
      self.threshold - busy
    }
  }
}

/// What kept the loop busy during a stall. Its discriminant crosses to JS (the `STALL_*` codes of
/// [`wire`](crate::event_loop::wire)), where `lib/event-loop/monitor.js` names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum StallKind {
  /// Synchronous code: no promise reactions ran.
  Macrotask = 0,
  /// Many promise reactions, one after the other.
  MicrotaskBurst = 1,
  /// One slow reaction.
  LongMicrotask = 2,
  /// Some of both.
  Mixed = 3,
}

/// Samples of the shared reaction state (a wrapping reaction counter and an "in a reaction" flag),
/// taken by the watchdog during one stall. A sample counts as microtask time when a reaction is
/// running or the counter moved since the previous sample (the loop is draining many small
/// reactions, and the flag alone would miss the time between them).
#[derive(Default, Clone, Copy, Debug)]
pub struct Attribution {
  prev: Option<u32>,
  pub samples: u32,
  pub micro: u32,
  run: u32,
  /// The longest run of samples inside one and the same reaction.
  longest_run: u32,
}

impl Attribution {
  pub fn sample(&mut self, counter: u32, in_reaction: bool) {
    let advanced = self.prev.is_some_and(|p| p != counter);
    self.samples += 1;
    if in_reaction || advanced {
      self.micro += 1;
    }
    self.run = match (in_reaction, advanced) {
      (true, false) => self.run + 1,
      (true, true) => 1,
      (false, _) => 0,
    };
    self.longest_run = self.longest_run.max(self.run);
    self.prev = Some(counter);
  }

  /// The share of the stall spent in promise reactions, from the samples. Without samples (the
  /// watchdog got no CPU time during the stall), from the reaction count alone.
  pub fn microtask_share(&self, reactions: u64) -> f64 {
    if self.samples == 0 {
      return if reactions >= BURST_REACTIONS { 1.0 } else { 0.0 };
    }
    self.micro as f64 / self.samples as f64
  }

  /// What kept the loop busy, given the reactions counted over the whole stall.
  pub fn classify(&self, reactions: u64) -> StallKind {
    if self.samples == 0 {
      return match reactions {
        0 => StallKind::Macrotask,
        r if r >= BURST_REACTIONS => StallKind::MicrotaskBurst,
        _ => StallKind::Mixed,
      };
    }
    let share = self.microtask_share(reactions);
    if share < 0.25 {
      StallKind::Macrotask
    } else if share <= 0.75 {
      StallKind::Mixed
    } else if self.longest_run * 2 >= self.samples {
      StallKind::LongMicrotask
    } else {
      StallKind::MicrotaskBurst
    }
  }
}

/// Without watchdog samples, this many reactions in one stall make it a burst.
pub const BURST_REACTIONS: u64 = 1_000;

/// The recent past, for load shedding: the largest iteration and the utilization over the last one
/// to two half-windows (two rotating halves, O(1) per iteration).
#[derive(Default)]
pub struct RecentWindow {
  half: u64,
  /// (start wall, start idle, max busy) of the previous and the current half.
  prev: Option<(u64, u64, u64)>,
  cur: Option<(u64, u64, u64)>,
}

impl RecentWindow {
  pub fn new(window: u64) -> RecentWindow {
    RecentWindow { half: (window / 2).max(1), prev: None, cur: None }
  }

  /// Starts the window now (when the monitor is enabled), so that the first iterations have a past.
  pub fn start(&mut self, now: u64, idle: u64) {
    self.prev = None;
    self.cur = Some((now, idle, 0));
  }

  pub fn on_iteration(&mut self, now: u64, idle: u64, busy: u64) {
    match &mut self.cur {
      Some(cur) if now.saturating_sub(cur.0) < self.half => cur.2 = cur.2.max(busy),
      _ => {
        self.prev = self.cur.take();
        // The new half starts where this iteration's busy time began.
        self.cur = Some((now.saturating_sub(busy), idle, busy));
      }
    }
  }

  /// The largest iteration in the recent window (0 when it has none).
  pub fn max(&self, now: u64) -> u64 {
    let fresh = |h: &Option<(u64, u64, u64)>, age: u64| h.filter(|h| now.saturating_sub(h.0) < age).map_or(0, |h| h.2);
    fresh(&self.cur, self.half.saturating_mul(2)).max(fresh(&self.prev, self.half.saturating_mul(3)))
  }

  /// Utilization since the start of the previous half (one half to one and a half windows ago
  /// while the loop iterates; longer after a long sleep, which it then counts as idle).
  pub fn utilization(&self, now: u64, idle: u64) -> f64 {
    let start = self.prev.or(self.cur);
    match start {
      Some((w, i, _)) if now > w => 1.0 - (idle.saturating_sub(i).min(now - w)) as f64 / (now - w) as f64,
      _ => 0.0,
    }
  }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stall {
  pub start: u64,
  pub duration: u64,
  pub kind: StallKind,
  pub reactions: u64,
  /// The share of the stall spent inside promise reactions.
  pub microtask_share: f64,
}

/// The last `capacity` finished stalls, oldest first.
pub struct StallRing {
  capacity: usize,
  stalls: VecDeque<Stall>,
  total: u64,
}

impl StallRing {
  pub fn new(capacity: usize) -> StallRing {
    StallRing { capacity: capacity.max(1), stalls: VecDeque::new(), total: 0 }
  }

  pub fn push(&mut self, stall: Stall) {
    if self.stalls.len() == self.capacity {
      self.stalls.pop_front();
    }
    self.stalls.push_back(stall);
    self.total += 1;
  }

  pub fn iter(&self) -> impl Iterator<Item = &Stall> {
    self.stalls.iter()
  }

  /// Stalls seen since creation, including those the ring no longer holds.
  pub fn total(&self) -> u64 {
    self.total
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  const MS: u64 = 1_000_000;

  #[test]
  fn busy_time_excludes_sleeping_in_poll() {
    let mut s = LoopSampler::default();
    s.enable(0, 0);
    // 10 ms iteration of which 9 ms asleep: 1 ms busy.
    assert_eq!(s.on_iteration(10 * MS, 9 * MS), Some(MS));
    // A 200 ms stall with no idle time.
    assert_eq!(s.on_iteration(210 * MS, 9 * MS), Some(200 * MS));
    assert_eq!(s.histogram().max(), 200 * MS);
    assert!((s.utilization(210 * MS, 9 * MS) - 201.0 / 210.0).abs() < 1e-9);
  }

  #[test]
  fn reset_keeps_a_stall_in_progress_and_enable_invents_none() {
    let mut s = LoopSampler::default();
    s.enable(0, 0);
    s.on_iteration(MS, 0);
    // The loop stalls from 1 ms; a reset happens during the stall (from another callback's
    // point of view) at 50 ms; the stall ends at 301 ms.
    s.reset(50 * MS, 0);
    assert_eq!(s.on_iteration(301 * MS, 0), Some(300 * MS), "the stall lands in the new window");
    s.disable();
    s.enable(5_000 * MS, 4_000 * MS);
    assert_eq!(s.on_iteration(5_001 * MS, 4_000 * MS), Some(MS), "no phantom sample for the disabled gap");
    assert!(s.on_iteration(5_002 * MS, 4_000 * MS).is_some());
  }

  #[test]
  fn the_watchdog_tells_a_stall_from_sleep() {
    let w = Watchdog { threshold: 50 * MS };
    let heartbeat = (100 * MS, 40 * MS);
    assert_eq!(w.stalled(heartbeat, 130 * MS, 40 * MS), None, "not long enough yet");
    assert_eq!(w.stalled(heartbeat, 180 * MS, 40 * MS), Some((100 * MS, 80 * MS)));
    assert_eq!(w.stalled(heartbeat, 180 * MS, 120 * MS), None, "asleep in epoll, not stalled");
    // Slept 20 ms in epoll, then an I/O callback has been busy for 60 ms.
    assert_eq!(w.stalled(heartbeat, 180 * MS, 60 * MS), Some((120 * MS, 60 * MS)));
    assert_eq!(w.sleep_for(10 * MS), 40 * MS, "sleeps until the threshold could be crossed");
    assert_eq!(w.sleep_for(60 * MS), 2 * MS, "polls finely during a stall");
  }

  #[test]
  fn attribution_tells_the_kinds_apart() {
    let classify = |samples: &[(u32, bool)], reactions: u64| {
      let mut a = Attribution::default();
      for &(r, i) in samples {
        a.sample(r, i);
      }
      a.classify(reactions)
    };
    assert_eq!(classify(&[(7, false); 20], 0), StallKind::Macrotask);
    // Draining many small reactions: the counter moves, the flag is often caught between them.
    let burst: Vec<(u32, bool)> = (0..20).map(|k| (100 + k * 5_000, k % 3 != 0)).collect();
    assert_eq!(classify(&burst, 100_000), StallKind::MicrotaskBurst);
    // The counter wraps (it is an Int32 bumped in JS).
    let wrapping: Vec<(u32, bool)> = (0..20).map(|k| ((u32::MAX - 40_000).wrapping_add(k * 5_000), false)).collect();
    assert_eq!(classify(&wrapping, 100_000), StallKind::MicrotaskBurst);
    // One slow reaction, after a few quick ones.
    let mut long = vec![(40, true), (41, true)];
    long.extend([(42, true); 18]);
    assert_eq!(classify(&long, 3), StallKind::LongMicrotask);
    let mixed: Vec<(u32, bool)> = (0..20).map(|k| (if k < 10 { 5 } else { 5 + k }, false)).collect();
    assert_eq!(classify(&mixed, 10), StallKind::Mixed);
    // No samples at all: the count decides.
    assert_eq!(classify(&[], 0), StallKind::Macrotask);
    assert_eq!(classify(&[], 50_000), StallKind::MicrotaskBurst);
  }

  #[test]
  fn the_recent_window_forgets_the_old_past() {
    let mut r = RecentWindow::new(1_000 * MS);
    r.on_iteration(0, 0, 0);
    r.on_iteration(300 * MS, 100 * MS, 200 * MS);
    assert_eq!(r.max(300 * MS), 200 * MS);
    assert!((r.utilization(300 * MS, 100 * MS) - 2.0 / 3.0).abs() < 1e-9);
    // 1.2 s later, after idle iterations, the stall is still in the previous half.
    r.on_iteration(700 * MS, 480 * MS, MS);
    assert_eq!(r.max(700 * MS), 200 * MS);
    // Two windows later it is gone.
    r.on_iteration(2_000 * MS, 1_770 * MS, MS);
    r.on_iteration(2_600 * MS, 2_360 * MS, MS);
    assert_eq!(r.max(2_600 * MS), MS);
    // A long sleep after one iteration: the sleep counts, the window does not shrink to nothing.
    let mut r = RecentWindow::new(200 * MS);
    r.on_iteration(10 * MS, 0, MS);
    r.on_iteration(310 * MS, 299 * MS, MS);
    assert!(r.utilization(311 * MS, 299 * MS) < 0.05);
  }

  #[test]
  fn the_ring_is_bounded_and_counts_everything() {
    let mut ring = StallRing::new(2);
    for k in 0..5 {
      ring.push(Stall { start: k, duration: 60 * MS, kind: StallKind::Macrotask, reactions: 0, microtask_share: 0.0 });
    }
    assert_eq!(ring.iter().map(|s| s.start).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(ring.total(), 5);
  }
}
