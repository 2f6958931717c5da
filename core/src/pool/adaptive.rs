//! Adaptive concurrency limits: controllers that move a pool's limit from the latency and the
//! errors of completed tasks, to stay at the downstream's knee (TCP congestion control, applied
//! to requests, as Netflix's concurrency-limits, Envoy's adaptive concurrency filter and brpc do).
//!
//! Every controller works in windows of about one limit's worth of completions (at least 16), so
//! that one slow or fast sample does not move the limit. A window's mean latency is compared with
//! the minimum *smoothed* latency (an EWMA of window means) over a sliding time span, so that a
//! slower service is learnt too. Smoothing the baseline matters: the minimum of many noisy means is
//! biased low, which reads as a phantom queue and starves the pool. Deciding on the window's own
//! mean (not the smoothed one) matters too: a lagging signal overshoots and undershoots the knee.
//! A window that saw the limit change is not judged: it mixes two limits. The tolerance rises with
//! the measured noise of window means, estimated robustly (median of successive differences at
//! an unchanged limit), so that a real jump in latency is not mistaken for noise.
//! Drops (a task marked itself dropped, say on a 429), errors and timeouts are congestion.
//!
//! - `Vegas` (the default) starts with a slow start ([`SlowStart`]): per clean round trip the
//!   limit grows by min(limit, 2√limit) until the first tasks wait, then it is set to what the
//!   downstream served without waiting (Little's law). Then, by Little's law again,
//!   `queue = limit × (1 − minRTT / RTT)` requests wait at the downstream. Hold it near zero,
//!   because every request that waits for a server waits a whole service time, and that is what
//!   p99 sees: grow by one while it is under 0.3; above max(0.7, 4% of the limit, 3σ of the
//!   measured noise) remove the excess at once (a small excess only when two windows running
//!   show it); back off ×0.9 on congestion. After slow start it waits 48 windows before probing
//!   up, after a decrease 24. Six windows running that each grew with nothing queued (the
//!   downstream grew) enter slow start again, from the current limit.
//! - `Gradient` (Netflix's Gradient2): `limit ← limit × clamp(tolerance × minRTT / RTT, 0.5, 1) +
//!   √limit`, smoothed.
//! - `Aimd`: grow by one per window while latency stays under `tolerance × minRTT`, ×0.9 otherwise.

use crate::pool::wire;
use std::collections::VecDeque;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
  Success,
  /// The task marked itself dropped (the downstream refused it): congestion, not a success.
  Dropped,
  /// It rejected or timed out: congestion.
  Error,
}

/// The controllers. The discriminants are the codes JS passes to `createPool` (`wire`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Algorithm {
  Vegas = wire::VEGAS,
  Gradient = wire::GRADIENT,
  Aimd = wire::AIMD,
}

impl Algorithm {
  /// The algorithm JS names by `code`, if any.
  pub fn from_code(code: u32) -> Option<Algorithm> {
    match code {
      wire::VEGAS => Some(Algorithm::Vegas),
      wire::GRADIENT => Some(Algorithm::Gradient),
      wire::AIMD => Some(Algorithm::Aimd),
      _ => None,
    }
  }
}

#[derive(Clone, Copy, Debug)]
pub struct Bounds {
  pub min: f64,
  pub max: f64,
  pub initial: f64,
}

/// The latest estimate a controller based its decision on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
  /// Minimum window latency over the sliding span, ns.
  pub min_rtt: f64,
  /// The last window's mean latency, ns.
  pub rtt: f64,
  /// Vegas: requests estimated to wait at the downstream. Gradient: the gradient. AIMD: rtt/min.
  pub signal: f64,
}

/// Sliding minimum of window latencies over the last `span` ns.
struct SlidingMin {
  span: u64,
  values: VecDeque<(u64, f64)>,
}

impl SlidingMin {
  fn push(&mut self, now: u64, v: f64) {
    while self.values.back().is_some_and(|&(_, b)| b >= v) {
      self.values.pop_back();
    }
    self.values.push_back((now, v));
    while self.values.front().is_some_and(|&(t, _)| now.saturating_sub(t) > self.span) {
      self.values.pop_front();
    }
  }
  fn get(&self) -> Option<f64> {
    self.values.front().map(|&(_, v)| v)
  }
}

/// Slow start, as TCP's: in rounds of one round trip, judged only on tasks started in the round
/// (so that a round's evidence is about one limit), the limit grows by min(limit, 2√limit) per
/// clean round: doubling while small, then by steps that stay a small part of the limit, since
/// the step that crosses the knee is the overshoot and every task of it waits a service time.
/// Late tasks (that waited) in two rounds running, or a round whose mean shows a queue, end slow
/// start at the limit the downstream served without queueing, by Little's law: the downstream
/// completes as many per round trip as it serves at once.
struct SlowStart {
  /// Tasks started before this time belong to an earlier limit.
  round_start: u64,
  samples: u32,
  sum: f64,
  /// Sum of squared latencies, ns², for the noise of the round's mean.
  sum_sq: f64,
  late: u32,
  congested: u32,
  /// Of the tasks started in the first quarter of the base latency after the round's start (all
  /// of the round's new ones), those that came back on time.
  on_time_first: u32,
  /// The most of those in an earlier round at the same limit (a round that was looked at again).
  on_time_before: u32,
  /// Late tasks in the first round at this limit that had any: on a regular downstream, as many
  /// as the limit is above the knee (each waits a whole service time, round after round).
  late_first: u32,
  max_inflight: u32,
  /// The lowest round mean so far, ns (0 until the first round).
  base: f64,
  /// The last limit whose round was clean and full.
  clean: f64,
  /// The last round had late tasks, or its mean hinted at a queue: this one is a second look.
  suspect: bool,
}

impl SlowStart {
  fn new(now: u64, base: f64, clean: f64) -> SlowStart {
    SlowStart {
      round_start: now,
      samples: 0,
      sum: 0.0,
      sum_sq: 0.0,
      late: 0,
      congested: 0,
      on_time_first: 0,
      on_time_before: 0,
      late_first: 0,
      max_inflight: 0,
      base,
      clean,
      suspect: false,
    }
  }

  /// The next round starts now, and includes the tasks started a little before (an eighth of the
  /// base latency): those that completed together with the one that ended the round were
  /// replaced in the same burst, at the new limit as far as the downstream can tell.
  fn next_round(&mut self, now: u64) {
    let start = now.saturating_sub((self.base / 8.0) as u64);
    let (on_time_before, late_first) = if self.suspect {
      (self.on_time_first.max(self.on_time_before), if self.late_first > 0 { self.late_first } else { self.late })
    } else {
      (0, 0)
    };
    *self =
      SlowStart { suspect: self.suspect, on_time_before, late_first, ..SlowStart::new(start, self.base, self.clean) };
  }
}

/// The limit after a clean round of slow start at `limit`.
fn slow_start_step(limit: f64) -> f64 {
  limit + limit.min(2.0 * limit.sqrt()).max(1.0)
}

pub struct Controller {
  algorithm: Algorithm,
  bounds: Bounds,
  limit: f64,
  min_rtt: SlidingMin,
  samples: u32,
  sum: f64,
  smoothed: f64,
  /// |differences| of successive window means taken at the same limit, newest last: their median
  /// is a robust measure of the noise of a window's mean (a real shift in latency is one outlier).
  diffs: VecDeque<f64>,
  prev: Option<(f64, f64)>,
  congested: u32,
  max_inflight: u32,
  estimate: Estimate,
  /// Slow start: the phase before the algorithm takes over (see [`SlowStart`]).
  slow_start: Option<SlowStart>,
  /// Windows to wait before growing again after a decrease.
  cooldown: u32,
  /// Successive windows that grew the limit with nothing queued (to re-enter slow start).
  clean_growth: u32,
  /// The window after a change mixes two limits: skip its decision.
  settling: bool,
  /// Vegas: the last judged window showed a queue above its tolerance.
  queued: bool,
  /// Vegas: the last decision was a probe (+1), not judged yet.
  probing: bool,
  /// Vegas: the last judged window removed a queue.
  removed: bool,
  /// Tasks that came back late (see [`SS_LATE`]) since the last judged window.
  late: u32,
}

const MIN_WINDOW: u32 = 16;
/// A task of a slow-start round that took more than (1 + this) × the base latency waited at the
/// downstream: on a regular downstream a task that waits, waits for a server to free up, a large
/// part of a service time, far beyond the noise of the rest.
const SS_LATE: f64 = 0.5;
/// Successive windows of avoidance that raised the limit with nothing queued before slow start
/// is entered again: the downstream grew (scaled out), and +1 a window would take long to follow.
const REENTER_AFTER: u32 = 6;
/// How many successive differences the noise estimate keeps.
const NOISE_WINDOWS: usize = 15;
/// Windows without growth after a decrease, so that probing above the knee is rare.
const COOLDOWN: u32 = 24;
/// Weight of a new window mean in the smoothed latency.
const SMOOTHING: f64 = 0.25;
/// How long the minimum latency is remembered: long enough to span many windows, short enough to
/// learn a permanently slower service.
const MIN_RTT_SPAN: u64 = 30_000_000_000;

impl Controller {
  /// Bounds out of order or not numbers (the JS layer rejects them first) are made usable rather
  /// than trusted: `f64::clamp` panics when min > max or either is NaN.
  pub fn new(algorithm: Algorithm, bounds: Bounds) -> Controller {
    let min = if bounds.min.is_finite() && bounds.min >= 1.0 { bounds.min } else { 1.0 };
    let max = if bounds.max.is_finite() && bounds.max >= min { bounds.max } else { min.max(1000.0) };
    let initial = if bounds.initial.is_nan() { min } else { bounds.initial.clamp(min, max) };
    let bounds = Bounds { min, max, initial };
    Controller {
      algorithm,
      bounds,
      limit: initial,
      min_rtt: SlidingMin { span: MIN_RTT_SPAN, values: VecDeque::new() },
      samples: 0,
      sum: 0.0,
      smoothed: 0.0,
      diffs: VecDeque::new(),
      prev: None,
      congested: 0,
      max_inflight: 0,
      estimate: Estimate::default(),
      // Gradient and AIMD grow by their own rules from the start.
      slow_start: (algorithm == Algorithm::Vegas).then(|| SlowStart::new(0, 0.0, 0.0)),
      cooldown: 0,
      clean_growth: 0,
      settling: false,
      queued: false,
      probing: false,
      removed: false,
      late: 0,
    }
  }

  /// The limit to apply: a whole number of tasks within the bounds.
  pub fn limit(&self) -> f64 {
    self.limit.floor().clamp(self.bounds.min, self.bounds.max)
  }

  pub fn estimate(&self) -> Estimate {
    self.estimate
  }

  pub fn algorithm(&self) -> Algorithm {
    self.algorithm
  }

  /// The standard deviation of a window's mean latency, from the median absolute difference of
  /// successive means (σ ≈ 1.4826 × MAD, and a difference of two has √2 σ). Until five differences
  /// are known, a prior of 3% of the latency: assuming no noise would read noise as a queue.
  fn noise(&self) -> f64 {
    if self.diffs.len() < 5 {
      return 0.03 * self.smoothed;
    }
    let mut d: Vec<f64> = self.diffs.iter().copied().collect();
    d.sort_by(|a, b| a.total_cmp(b));
    d[d.len() / 2] * 1.4826 / std::f64::consts::SQRT_2
  }

  /// One task completed after `rtt` ns with `inflight` tasks running (itself included).
  /// Returns true when the applied limit changed.
  pub fn on_sample(&mut self, now: u64, rtt: u64, inflight: u32, outcome: Outcome) -> bool {
    if self.slow_start.is_some() {
      let before = self.limit();
      self.slow_start_sample(now, rtt, inflight, outcome);
      return self.limit() != before;
    }
    match outcome {
      Outcome::Success => {
        self.samples += 1;
        self.sum += rtt as f64;
        if self.probing && self.estimate.min_rtt > 0.0 && rtt as f64 > self.estimate.min_rtt * (1.0 + SS_LATE) {
          self.late += 1;
        }
      }
      Outcome::Dropped | Outcome::Error => self.congested += 1,
    }
    self.max_inflight = self.max_inflight.max(inflight);
    let window = (self.limit as u32).max(MIN_WINDOW);
    if self.samples + self.congested < window {
      return false;
    }
    let before = self.limit();
    self.end_window(now);
    self.limit() != before
  }

  fn end_window(&mut self, now: u64) {
    let (samples, sum, congested, max_inflight) = (self.samples, self.sum, self.congested, self.max_inflight);
    self.samples = 0;
    self.sum = 0.0;
    self.congested = 0;
    self.max_inflight = 0;
    // Only a pool that used its limit has evidence that more would help.
    let limited = max_inflight as f64 + 1.0 >= self.limit();
    if samples > 0 {
      let mean = sum / samples as f64;
      if let Some((prev_mean, prev_limit)) = self.prev {
        if prev_limit == self.limit.floor() {
          if self.diffs.len() == NOISE_WINDOWS {
            self.diffs.pop_front();
          }
          self.diffs.push_back((mean - prev_mean).abs());
        }
      }
      self.prev = Some((mean, self.limit.floor()));
      self.smoothed = if self.smoothed == 0.0 { mean } else { self.smoothed * (1.0 - SMOOTHING) + mean * SMOOTHING };
      self.min_rtt.push(now, self.smoothed);
      self.estimate.rtt = mean;
      // The minimum of many noisy values sits about 2.5 of their standard deviations below their
      // centre; the smoothed series has σ × √(s / (2 − s)). Correct for it, or noise reads as a
      // standing queue.
      let bias = 2.5 * self.noise() * (SMOOTHING / (2.0 - SMOOTHING)).sqrt();
      self.estimate.min_rtt = self.min_rtt.get().unwrap_or(self.smoothed) + bias;
    }
    let (rtt, min_rtt) = (self.estimate.rtt, self.estimate.min_rtt);
    let before = self.limit;
    self.cooldown = self.cooldown.saturating_sub(1);
    let congestion = congested > 0 && congested * 10 >= (samples + congested).max(1);
    if std::mem::take(&mut self.settling) && !congestion {
      return;
    }
    let (probing, late) = (std::mem::take(&mut self.probing), std::mem::take(&mut self.late));
    let mut removed = false;
    if congestion {
      self.limit *= 0.9;
    } else if samples > 0 && min_rtt > 0.0 {
      match self.algorithm {
        Algorithm::Vegas => {
          let queue = self.limit * (1.0 - min_rtt / rtt);
          self.estimate.signal = queue;
          // Grow only while (nearly) nothing waits. Shrink above a tolerance that scales with the
          // limit (4%, at least 0.7) and stays three standard deviations above the noise of a
          // window's mean, so that noise alone does not shrink the pool.
          let noise = self.limit * self.noise() / self.smoothed.max(1.0);
          let (alpha, beta) = (0.3_f64.max(noise), (0.04 * self.limit).max(0.7).max(3.0 * noise));
          if probing && (late > 0 || queue > beta) {
            // The probe made tasks wait (on a regular downstream one task too many waits a whole
            // service time, while the mean moves within its noise): undo it at once.
            self.estimate.signal = queue.max(late as f64);
            self.limit -= 1.0;
          } else if queue < alpha {
            if limited && self.cooldown == 0 {
              self.limit += 1.0;
              self.probing = true;
            }
          } else if queue > beta {
            // By Little's law the queue is how far above the knee the limit is: remove it. A small
            // one must show in two windows running: one window's spike of a few ms (a busy
            // machine) reads as a queue of one, and the cooldown would keep the loss.
            // Right after a removal, the window still holds tasks that waited at the old limit
            // and overstates the queue: remove half (after a step down of capacity, the whole
            // excess twice running undershot the new knee by a tenth and the cooldown kept it).
            if std::mem::replace(&mut self.queued, true) || queue > (2.0 * beta).max(0.25 * self.limit) {
              let share = if self.removed { 0.5 } else { 1.0 };
              self.limit -= ((queue - beta) * share).max(1.0);
              self.queued = false;
              removed = true;
            }
          }
          if queue <= beta {
            self.queued = false;
          }
        }
        Algorithm::Gradient => {
          let gradient = (1.1 * min_rtt / rtt).clamp(0.5, 1.0);
          self.estimate.signal = gradient;
          let grown =
            if limited || gradient < 1.0 { self.limit * gradient + self.limit.sqrt().min(4.0) } else { self.limit };
          self.limit = self.limit * 0.8 + grown * 0.2;
        }
        Algorithm::Aimd => {
          let ratio = rtt / min_rtt;
          self.estimate.signal = ratio;
          if ratio > 1.25 {
            self.limit *= 0.9;
          } else if limited {
            self.limit += 1.0;
          }
        }
      }
    }
    self.removed = removed;
    self.limit = self.limit.clamp(self.bounds.min, self.bounds.max);
    if self.limit < before {
      self.cooldown = COOLDOWN;
    }
    // Re-entering slow start: only Vegas's queue says that a rise found nothing queued.
    if self.algorithm == Algorithm::Vegas && self.limit.floor() > before.floor() && self.estimate.signal < 0.3 {
      self.clean_growth += 1;
    } else if self.limit.floor() != before.floor() {
      self.clean_growth = 0;
    }
    self.settling = self.limit.floor() != before.floor();
    if self.clean_growth >= REENTER_AFTER {
      self.clean_growth = 0;
      self.slow_start = Some(SlowStart::new(now, self.estimate.min_rtt, self.limit));
    }
  }

  /// One task of slow start (see [`SlowStart`]).
  fn slow_start_sample(&mut self, now: u64, rtt: u64, inflight: u32, outcome: Outcome) {
    let limit = self.limit();
    let Some(ss) = self.slow_start.as_mut() else { return };
    let sent = now.saturating_sub(rtt);
    if sent < ss.round_start {
      return;
    }
    ss.max_inflight = ss.max_inflight.max(inflight);
    let late = ss.base > 0.0 && rtt as f64 > ss.base * (1.0 + SS_LATE);
    match outcome {
      Outcome::Success => {
        ss.samples += 1;
        ss.sum += rtt as f64;
        ss.sum_sq += (rtt as f64) * (rtt as f64);
        if late {
          ss.late += 1;
        } else if ss.base > 0.0 && ((sent - ss.round_start) as f64) < ss.base / 4.0 {
          ss.on_time_first += 1;
        }
      }
      Outcome::Dropped | Outcome::Error => ss.congested += 1,
    }
    let done = ss.samples + ss.congested >= (limit as u32).max(1);
    if ss.congested > 0 {
      // Refused or failing: the avoidance algorithm backs off from here.
      let limit = ss.clean.max(self.limit * 0.9);
      self.leave_slow_start(limit);
      return;
    }
    if !done {
      return;
    }
    if ss.late * 2 > limit as u32 && !ss.suspect {
      // More than half late cannot be the step just taken (at most half of the limit): a stall of
      // the process or of the network, not a queue. Look again, once.
      ss.suspect = true;
      ss.next_round(now);
      return;
    }
    let mean = ss.sum / ss.samples.max(1) as f64;
    if ss.samples == 0 {
      ss.next_round(now);
      return;
    }
    if ss.base == 0.0 {
      ss.base = mean;
    }
    // What the downstream serves at once, by Little's law, three ways: the tasks started at the
    // round's start that came back on time; the limit less the tasks that waited a whole service
    // time; the limit less the queue the round's mean shows. Each can fall short (noise spreads a
    // burst, a wait spreads over every task); the largest, below the limit that queued, and not
    // below the last clean one.
    let queue = limit * (1.0 - ss.base / mean);
    let late_first = if ss.late_first > 0 { ss.late_first } else { ss.late };
    let served = |ss: &SlowStart| {
      let on_time = ss.on_time_first.max(ss.on_time_before) as f64;
      let by_late = if late_first > 0 { limit - late_first as f64 } else { 0.0 };
      ss.clean.max(on_time.max(by_late).max(limit - queue).min(limit - 1.0))
    };
    // Late tasks in two rounds running: one round's could be a busy machine's (a stall delays
    // a few tasks as much as a queue does); a queue is still there a round trip later.
    if ss.late > 0 && ss.suspect {
      let limit = served(ss);
      self.leave_slow_start(limit);
      return;
    }
    // Little's law on the round's mean: a queue that spreads over every task (no single one late).
    // Noise moves the mean too: three standard deviations of it are not a queue.
    let n = ss.samples as f64;
    let sd_mean = ((ss.sum_sq / n - mean * mean).max(0.0) / n).sqrt();
    let sd_queue = limit * sd_mean / mean;
    // One late task, or a queue too small to be sure of: look again at the same limit.
    let suspect = ss.late > 0 || queue > 0.3_f64.max(2.0 * sd_queue);
    // A queue of a quarter of the limit ends it at once; a smaller one must show twice.
    if queue > 1.0_f64.max(0.25 * limit).max(3.0 * sd_queue) || (suspect && ss.suspect) {
      let limit = served(ss);
      self.leave_slow_start(limit);
      return;
    }
    ss.suspect = suspect;
    if suspect {
      ss.next_round(now);
      return;
    }
    ss.base = ss.base.min(mean);
    self.estimate = Estimate { min_rtt: ss.base, rtt: mean, signal: queue.max(0.0) };
    if ss.max_inflight as f64 + 1.0 >= limit {
      ss.clean = limit;
      self.limit = slow_start_step(self.limit).clamp(self.bounds.min, self.bounds.max);
    }
    ss.next_round(now);
  }

  /// Hands over to the algorithm at `limit`, which waits twice its cooldown before probing up.
  fn leave_slow_start(&mut self, limit: f64) {
    let Some(ss) = self.slow_start.take() else { return };
    let before = self.limit;
    self.limit = limit.clamp(self.bounds.min, self.bounds.max);
    // The algorithm learns its own baseline from its windows (the lowest of a few round means is
    // biased low: a phantom queue); until its first window, the estimate shows slow start's.
    if ss.base > 0.0 && self.estimate.min_rtt == 0.0 {
      self.estimate.min_rtt = ss.base;
    }
    self.samples = 0;
    self.sum = 0.0;
    self.congested = 0;
    self.max_inflight = 0;
    self.prev = None;
    // It left on a queue, at a limit measured by Little's law: probing above it again soon would
    // only queue again (twice the cooldown after a decrease; re-entry covers a downstream that grew).
    self.cooldown = 2 * COOLDOWN;
    self.clean_growth = 0;
    self.settling = self.limit.floor() != before.floor();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn algorithm_codes_are_the_wire_codes() {
    for algorithm in [Algorithm::Vegas, Algorithm::Gradient, Algorithm::Aimd] {
      assert_eq!(Algorithm::from_code(algorithm as u32), Some(algorithm));
    }
    assert_eq!(Algorithm::from_code(wire::GRADIENT), Some(Algorithm::Gradient));
    assert_eq!(Algorithm::from_code(3), None);
  }
  const MS: u64 = 1_000_000;

  fn vegas() -> Controller {
    Controller::new(Algorithm::Vegas, Bounds { min: 1.0, max: 1000.0, initial: 10.0 })
  }

  #[test]
  fn grows_while_nothing_queues_and_the_pool_is_full() {
    // Round trips of 50 ms, all tasks of a round started together, none waiting.
    let mut c = vegas();
    let mut now = 0;
    let mut limits = vec![];
    for _ in 0..3 {
      let l = c.limit() as u32;
      now += 50 * MS;
      for _ in 0..l {
        c.on_sample(now, 50 * MS, l, Outcome::Success);
      }
      limits.push(c.limit());
    }
    assert_eq!(limits, [16.0, 24.0, 34.0], "slow start: + min(limit, 2√limit) a clean round trip");
  }

  #[test]
  fn does_not_grow_without_demand() {
    let mut c = vegas();
    for i in 0..100 {
      c.on_sample(i * MS, 50 * MS, 2, Outcome::Success);
    }
    assert_eq!(c.limit(), 10.0, "an app-limited pool has no evidence that more helps");
  }

  /// A closed loop in round trips of `service`: the first `knee` tasks of a round are served at
  /// once, the rest wait a whole service time (a regular downstream's queue). Returns the limits.
  fn rounds(c: &mut Controller, knee: u32, rounds: u32, now: &mut u64) -> Vec<f64> {
    let mut limits = vec![];
    for _ in 0..rounds {
      let l = c.limit() as u32;
      *now += 50 * MS;
      for i in 0..l {
        let rtt = if i < knee { 50 * MS } else { 100 * MS };
        c.on_sample(*now + rtt - 50 * MS, rtt, l, Outcome::Success);
      }
      limits.push(c.limit());
    }
    limits
  }

  #[test]
  fn slow_start_ends_on_the_first_late_tasks_at_what_was_served_on_time() {
    let mut c = vegas();
    let mut now = 0;
    // 10 → 16 → 24: 4 of 24 wait; looked at twice, then the 20 served on time are the limit.
    let limits = rounds(&mut c, 20, 6, &mut now);
    assert_eq!(&limits[..2], [16.0, 24.0]);
    assert!(c.slow_start.is_none(), "left slow start: {limits:?}");
    assert_eq!(c.limit(), 20.0, "{limits:?}");
    // It stays there: nothing queues at 20, and it does not probe above it soon.
    let after = rounds(&mut c, 20, 40, &mut now);
    assert!(after.iter().all(|&l| l == 20.0), "{after:?}");
  }

  #[test]
  fn late_tasks_in_one_round_are_looked_at_again_before_leaving() {
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 100, 1, &mut now);
    assert_eq!(c.limit(), 16.0);
    // Three slow tasks in a round (a busy machine): no growth, no exit yet.
    now += 50 * MS;
    for i in 0..16 {
      let rtt = if (3..6).contains(&i) { 90 * MS } else { 50 * MS };
      c.on_sample(now + rtt - 50 * MS, rtt, 16, Outcome::Success);
    }
    assert_eq!(c.limit(), 16.0);
    assert!(c.slow_start.is_some());
    // A clean round after it: growth resumes.
    rounds(&mut c, 100, 1, &mut now);
    assert_eq!(c.limit(), 24.0);
    assert!(c.slow_start.is_some());
  }

  #[test]
  fn a_stall_that_delays_every_task_is_not_a_queue() {
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 100, 1, &mut now);
    now += 80 * MS;
    for _ in 0..16 {
      c.on_sample(now, 80 * MS, 16, Outcome::Success);
    }
    assert!(c.slow_start.is_some(), "every task late is a stall of the process, not a queue");
    rounds(&mut c, 100, 1, &mut now);
    assert_eq!(c.limit(), 24.0);
  }

  #[test]
  fn shrinks_when_latency_shows_a_queue_and_backs_off_on_drops() {
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 12, 6, &mut now);
    assert!(c.slow_start.is_none());
    assert_eq!(c.limit(), 12.0);
    // Every task now takes twice as long: a queue, whatever the cooldown.
    for _ in 0..60 {
      now += MS;
      c.on_sample(now, 100 * MS, 12, Outcome::Success);
    }
    assert!(c.limit() < 12.0, "a doubled latency is a queue: {}", c.limit());
    let before = c.limit();
    for i in 0..32 {
      c.on_sample(now + i * MS, MS, 10, Outcome::Dropped);
    }
    assert!(c.limit() < before);
  }

  #[test]
  fn a_one_window_spike_is_not_a_queue_two_windows_are() {
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 20, 6, &mut now);
    assert!(c.slow_start.is_none());
    assert_eq!(c.limit(), 20.0);
    // Learn the baseline: windows at 50 ms.
    let window = |c: &mut Controller, now: &mut u64, rtt: u64| {
      for _ in 0..20 {
        *now += 2 * MS;
        c.on_sample(*now, rtt, 20, Outcome::Success);
      }
    };
    for _ in 0..10 {
      window(&mut c, &mut now, 50 * MS);
    }
    // One window 8% slower (a queue of ~1.5 by its mean), then normal: kept.
    window(&mut c, &mut now, 54 * MS);
    window(&mut c, &mut now, 50 * MS);
    assert_eq!(c.limit(), 20.0, "one slow window is a spike");
    // Two running: a queue, removed.
    window(&mut c, &mut now, 54 * MS);
    window(&mut c, &mut now, 54 * MS);
    assert!(c.limit() < 20.0, "two slow windows are a queue: {}", c.limit());
  }

  #[test]
  fn a_probe_that_makes_a_task_wait_is_undone_at_once() {
    // After slow start at 20, Vegas probes 21 now and then; at 21 one task a round waits a whole
    // service time, which moves the mean by ~5%, within a busy machine's noise, but that task is
    // late: the probe is undone after the window that saw it (two rounds at 21 at most).
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 20, 6, &mut now);
    assert_eq!(c.limit(), 20.0);
    let limits = rounds(&mut c, 20, 300, &mut now);
    assert!(limits.contains(&21.0), "it probes: {limits:?}");
    let longest = limits.split(|&l| l != 21.0).map(<[f64]>::len).max().unwrap();
    assert!(longest <= 2, "at 21 for {longest} rounds running: {limits:?}");
    assert!(limits.iter().all(|&l| (20.0..=21.0).contains(&l)), "{limits:?}");
  }

  #[test]
  fn refusals_in_slow_start_hand_over_to_the_back_off() {
    let mut c = vegas();
    let mut now = 0;
    rounds(&mut c, 100, 1, &mut now);
    c.on_sample(now + 1, MS, 16, Outcome::Dropped);
    assert!(c.slow_start.is_none());
    assert_eq!(c.limit(), 14.0, "×0.9, not below the last clean limit");
  }

  #[test]
  fn stays_in_bounds() {
    let mut c = Controller::new(Algorithm::Aimd, Bounds { min: 2.0, max: 5.0, initial: 100.0 });
    assert_eq!(c.limit(), 5.0);
    for i in 0..1000 {
      c.on_sample(i * MS, 50 * MS, 5, Outcome::Error);
    }
    assert_eq!(c.limit(), 2.0);
  }

  #[test]
  fn bounds_that_are_not_numbers_or_out_of_order_never_panic() {
    for (min, max, initial) in
      [(f64::NAN, 10.0, 4.0), (5.0, 2.0, 3.0), (1.0, f64::NAN, f64::NAN), (f64::INFINITY, f64::NEG_INFINITY, 0.0)]
    {
      let c = Controller::new(Algorithm::Vegas, Bounds { min, max, initial });
      let l = c.limit();
      assert!(l >= 1.0 && l.is_finite(), "{min} {max} {initial}: {l}");
    }
  }
}
