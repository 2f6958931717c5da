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
//! Not wired to libuv yet: the napi layer (uv_check handle from the host node binary, the watchdog
//! thread, cleanup hooks) is the next step of issue #5.

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
  /// The stall in progress, as (start, duration so far): the loop has been busy since its last
  /// heartbeat `(wall, idle)` for at least the threshold. `idle_now` is libuv's live idle time; if
  /// it moved, the loop slept in epoll since the heartbeat and is not stalled.
  pub fn stalled(&self, heartbeat: (u64, u64), now: u64, idle_now: u64) -> Option<(u64, u64)> {
    let (wall, idle) = heartbeat;
    let busy_for = now.saturating_sub(wall);
    (idle_now == idle && busy_for >= self.threshold).then_some((wall, busy_for))
  }

  /// The earliest moment the threshold could be crossed after this heartbeat: the watchdog sleeps
  /// until then, and polls finely only during a stall.
  pub fn next_check(&self, heartbeat_wall: u64) -> u64 {
    heartbeat_wall.saturating_add(self.threshold)
  }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StallKind {
  /// Synchronous code: no promise reactions ran.
  Macrotask,
  /// Many promise reactions, one after the other.
  MicrotaskBurst,
  /// One slow reaction.
  LongMicrotask,
  Mixed,
}

impl StallKind {
  pub fn name(self) -> &'static str {
    match self {
      StallKind::Macrotask => "macrotask",
      StallKind::MicrotaskBurst => "microtask-burst",
      StallKind::LongMicrotask => "long-microtask",
      StallKind::Mixed => "mixed",
    }
  }
}

/// Samples of the shared reaction state, taken by the watchdog during one stall.
#[derive(Default)]
pub struct Attribution {
  first: Option<u64>,
  last: u64,
  samples: u32,
  in_reaction: u32,
}

impl Attribution {
  /// One sample: the reaction counter's value and whether a reaction was running.
  pub fn sample(&mut self, reactions: u64, in_reaction: bool) {
    self.first.get_or_insert(reactions);
    self.last = reactions;
    self.samples += 1;
    if in_reaction {
      self.in_reaction += 1;
    }
  }

  /// Reactions that ran during the stall.
  pub fn reactions(&self) -> u64 {
    self.first.map_or(0, |f| self.last.saturating_sub(f))
  }

  /// The share of samples taken inside a reaction.
  pub fn in_reaction_share(&self) -> f64 {
    if self.samples == 0 {
      0.0
    } else {
      self.in_reaction as f64 / self.samples as f64
    }
  }

  pub fn classify(&self) -> StallKind {
    let (reactions, share) = (self.reactions(), self.in_reaction_share());
    if reactions == 0 && share < 0.2 {
      StallKind::Macrotask
    } else if reactions <= 2 && share >= 0.8 {
      StallKind::LongMicrotask
    } else if reactions > 2 && (share >= 0.5 || self.samples > 0 && reactions >= self.samples as u64) {
      StallKind::MicrotaskBurst
    } else if reactions == 0 && self.samples == 0 {
      StallKind::Macrotask
    } else {
      StallKind::Mixed
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
    assert_eq!(w.stalled(heartbeat, 180 * MS, 110 * MS), None, "asleep in epoll, not stalled");
    assert_eq!(w.next_check(100 * MS), 150 * MS);
  }

  #[test]
  fn attribution_tells_the_kinds_apart() {
    let classify = |samples: &[(u64, bool)]| {
      let mut a = Attribution::default();
      for &(r, i) in samples {
        a.sample(r, i);
      }
      a.classify()
    };
    assert_eq!(classify(&[(7, false); 20]), StallKind::Macrotask);
    let burst: Vec<(u64, bool)> = (0..20).map(|k| (100 + k * 5_000, k % 3 != 0)).collect();
    assert_eq!(classify(&burst), StallKind::MicrotaskBurst);
    assert_eq!(classify(&[(41, true); 20]), StallKind::LongMicrotask);
    let mixed: Vec<(u64, bool)> = (0..20).map(|k| (if k < 10 { 5 } else { 5 + k }, false)).collect();
    assert_eq!(classify(&mixed), StallKind::Mixed);
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
