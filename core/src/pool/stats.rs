//! The pool's statistics in Little's-law terms.
//!
//! Over one observation window (from the first task or the last reset to now):
//! throughput λ = completions / elapsed, latency W from each task's start to its settlement, and
//! the time-averaged number in flight L. Little's law says L = λ·W; `little_concurrency` = λ·W is
//! the concurrency this workload actually needs to sustain the throughput it reached.

use crate::histogram::Histogram;

#[derive(Default)]
pub struct PoolStats {
  window_start: Option<u64>,
  completed: u64,
  failed: u64,
  dropped: u64,
  latency: Histogram,
  wait: Histogram,
  inflight_area: f64,
  last_change: u64,
  active: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsSnapshot {
  pub completed: u64,
  pub failed: u64,
  pub dropped: u64,
  pub elapsed_ms: f64,
  pub throughput: f64,
  pub latency_mean_ms: f64,
  pub latency_p50_ms: f64,
  pub latency_p90_ms: f64,
  pub latency_p99_ms: f64,
  pub latency_max_ms: f64,
  pub wait_mean_ms: f64,
  pub wait_p99_ms: f64,
  pub mean_in_flight: f64,
  pub little_concurrency: f64,
}

const MS: f64 = 1e6;

impl PoolStats {
  fn advance(&mut self, now: u64) {
    if self.window_start.is_none() {
      self.window_start = Some(now);
      self.last_change = now;
    }
    let dt = now.saturating_sub(self.last_change) as f64;
    self.inflight_area += dt * self.active as f64;
    self.last_change = now;
  }

  /// A task starts running after waiting `waited` ns in the queue.
  pub fn on_start(&mut self, now: u64, waited: u64) {
    self.advance(now);
    self.active += 1;
    self.wait.record(waited);
  }

  /// A task settles (or is abandoned through abort/timeout) after running `ran` ns: fulfilled
  /// (`ok`), marked dropped by itself (`dropped`, e.g. refused by the downstream), or failed.
  pub fn on_finish(&mut self, now: u64, ran: u64, ok: bool, dropped: bool) {
    self.advance(now);
    self.active = self.active.saturating_sub(1);
    if dropped {
      self.dropped += 1;
    } else if ok {
      self.completed += 1;
    } else {
      self.failed += 1;
    }
    self.latency.record(ran);
  }

  /// Starts a new window; tasks in flight keep counting toward it.
  pub fn reset(&mut self, now: u64) {
    let active = self.active;
    *self = PoolStats::default();
    self.active = active;
    self.window_start = Some(now);
    self.last_change = now;
  }

  pub fn snapshot(&mut self, now: u64) -> StatsSnapshot {
    self.advance(now);
    let elapsed = now.saturating_sub(self.window_start.unwrap_or(now)) as f64;
    let finished = self.completed + self.failed + self.dropped;
    let throughput = if elapsed > 0.0 { finished as f64 / (elapsed / 1e9) } else { 0.0 };
    let mean_latency = if finished > 0 { self.latency.mean() } else { 0.0 };
    let pct = |h: &Histogram, p: f64| h.percentile(p) as f64 / MS;
    StatsSnapshot {
      completed: self.completed,
      failed: self.failed,
      dropped: self.dropped,
      elapsed_ms: elapsed / MS,
      throughput,
      latency_mean_ms: mean_latency / MS,
      latency_p50_ms: pct(&self.latency, 50.0),
      latency_p90_ms: pct(&self.latency, 90.0),
      latency_p99_ms: pct(&self.latency, 99.0),
      latency_max_ms: self.latency.max() as f64 / MS,
      wait_mean_ms: if self.wait.count() > 0 { self.wait.mean() / MS } else { 0.0 },
      wait_p99_ms: pct(&self.wait, 99.0),
      mean_in_flight: if elapsed > 0.0 { self.inflight_area / elapsed } else { 0.0 },
      little_concurrency: throughput * (mean_latency / 1e9),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  const S: u64 = 1_000_000_000;

  #[test]
  fn littles_law_holds_for_a_steady_workload() {
    // 10 slots, each task runs 100 ms back to back for 10 s: λ = 100/s, W = 0.1 s, L = 10.
    let mut st = PoolStats::default();
    let w = S / 10;
    for slot_round in 0..100u64 {
      let t = slot_round * w;
      for _ in 0..10 {
        st.on_start(t, 0);
      }
      for _ in 0..10 {
        st.on_finish(t + w, w, true, false);
      }
    }
    let s = st.snapshot(10 * S);
    assert_eq!(s.completed, 1000);
    assert!((s.throughput - 100.0).abs() < 1e-6, "{}", s.throughput);
    assert!((s.latency_mean_ms - 100.0).abs() < 1e-6);
    assert!((s.mean_in_flight - 10.0).abs() < 1e-6, "{}", s.mean_in_flight);
    assert!((s.little_concurrency - s.mean_in_flight).abs() < 1e-6);
  }

  #[test]
  fn empty_stats_are_zero_not_nan() {
    let mut st = PoolStats::default();
    let s = st.snapshot(5);
    assert_eq!(s.throughput, 0.0);
    assert_eq!(s.latency_mean_ms, 0.0);
    assert_eq!(s.little_concurrency, 0.0);
  }

  #[test]
  fn reset_keeps_tasks_in_flight() {
    let mut st = PoolStats::default();
    st.on_start(0, 0);
    st.on_start(0, 0);
    st.reset(S);
    let s = st.snapshot(2 * S);
    assert_eq!(s.completed, 0);
    assert!((s.mean_in_flight - 2.0).abs() < 1e-9);
    st.on_finish(2 * S, 2 * S, false, false);
    assert_eq!(st.snapshot(2 * S).failed, 1);
  }
}
