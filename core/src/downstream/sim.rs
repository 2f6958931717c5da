//! A discrete-event simulation of a pool in front of the built-in downstream's model, in
//! simulated time, for testing the adaptive controllers with `cargo test`: a closed loop of tasks
//! (the pool always has work), a downstream with `servers`, a waiting room and 429s, optional
//! latency noise and a step change of the number of servers.

use crate::downstream::model::DownstreamSpec;
use crate::pool::adaptive::{Controller, Outcome};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A small deterministic generator (SplitMix64): reproducible noise without a crate.
struct Rng(u64);

impl Rng {
  fn next_f64(&mut self) -> f64 {
    self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = self.0;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
  }
}

#[derive(Clone, Copy, Debug)]
pub struct Scenario {
  pub spec: DownstreamSpec,
  /// Latency noise: each service time is multiplied by a uniform factor in [1 − noise, 1 + noise].
  pub noise: f64,
  /// At this simulated time (ns), the downstream's servers become `step_servers`.
  pub step_at: Option<u64>,
  pub step_servers: u32,
  /// Simulated duration, ns.
  pub duration: u64,
  pub seed: u64,
}

/// The limit sampled every 100 ms of simulated time: (time ns, limit).
pub type Trace = Vec<(u64, f64)>;

const REFUSAL_RTT: u64 = 1_000_000;
const SAMPLE_EVERY: u64 = 100_000_000;

/// Runs the scenario with `controller` setting the pool's limit; returns the limit over time.
pub fn simulate(scenario: Scenario, controller: &mut Controller) -> Trace {
  let mut rng = Rng(scenario.seed);
  let mut servers = scenario.spec.servers;
  let service = scenario.spec.service.as_nanos() as u64;
  // Events: (time, sequence, sent-at, refused?) for responses arriving at the pool.
  let mut events: BinaryHeap<Reverse<(u64, u64, u64, bool)>> = BinaryHeap::new();
  let mut waiting: VecDeque<u64> = VecDeque::new();
  let mut busy = 0u32;
  let mut inflight = 0u32;
  let mut seq = 0u64;
  let mut now = 0u64;
  let mut trace = Vec::new();
  let mut next_sample = 0u64;

  let serve_time = |rng: &mut Rng| -> u64 {
    let factor = 1.0 + scenario.noise * (2.0 * rng.next_f64() - 1.0);
    (service as f64 * factor).max(1.0) as u64
  };

  loop {
    // The pool sends while it is under its limit.
    while (inflight as f64) < controller.limit() {
      inflight += 1;
      seq += 1;
      if busy < servers {
        busy += 1;
        events.push(Reverse((now + serve_time(&mut rng), seq, now, false)));
      } else if (waiting.len() as u32) < scenario.spec.queue {
        waiting.push_back(now);
      } else {
        events.push(Reverse((now + REFUSAL_RTT, seq, now, true)));
      }
    }
    let Some(Reverse((t, _, sent, refused))) = events.pop() else {
      break;
    };
    if t > scenario.duration {
      break;
    }
    while next_sample <= t {
      trace.push((next_sample, controller.limit()));
      next_sample += SAMPLE_EVERY;
    }
    now = t;
    if let Some(at) = scenario.step_at {
      if now >= at {
        servers = scenario.step_servers;
      }
    }
    if !refused {
      busy -= 1;
      while busy < servers {
        let Some(queued_at) = waiting.pop_front() else { break };
        busy += 1;
        seq += 1;
        events.push(Reverse((now + serve_time(&mut rng), seq, queued_at, false)));
      }
    }
    let outcome = if refused { Outcome::Dropped } else { Outcome::Success };
    controller.on_sample(now, now - sent, inflight, outcome);
    inflight -= 1;
  }
  trace
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::pool::adaptive::{Algorithm, Bounds};

  const S: u64 = 1_000_000_000;

  fn scenario(noise: f64, step: Option<(u64, u32)>, duration: u64) -> Scenario {
    Scenario {
      spec: DownstreamSpec::from_capacity(400.0, 50.0, Some(20)).unwrap(),
      noise,
      step_at: step.map(|s| s.0),
      step_servers: step.map_or(0, |s| s.1),
      duration,
      seed: 42,
    }
  }

  fn controller(algorithm: Algorithm) -> Controller {
    Controller::new(algorithm, Bounds { min: 1.0, max: 1000.0, initial: 4.0 })
  }

  fn between(trace: &Trace, from: u64, to: u64) -> Vec<f64> {
    trace.iter().filter(|(t, _)| *t >= from && *t <= to).map(|&(_, l)| l).collect()
  }

  #[test]
  fn vegas_settles_within_25_percent_of_the_knee_within_10_seconds() {
    let mut c = controller(Algorithm::Vegas);
    let trace = simulate(scenario(0.0, None, 20 * S), &mut c);
    let settled = between(&trace, 10 * S, 20 * S);
    assert!(!settled.is_empty());
    for l in &settled {
      assert!((15.0..=25.0).contains(l), "limit {l} outside 20 ± 25% after 10 s: {settled:?}");
    }
  }

  #[test]
  fn vegas_follows_a_step_change_within_10_seconds() {
    // At 20 s the downstream halves its capacity: 20 servers become 10.
    let mut c = controller(Algorithm::Vegas);
    let trace = simulate(scenario(0.0, Some((20 * S, 10)), 40 * S), &mut c);
    let after = between(&trace, 30 * S, 40 * S);
    for l in &after {
      assert!((7.5..=12.5).contains(l), "limit {l} outside 10 ± 25% 10 s after the step: {after:?}");
    }
  }

  #[test]
  fn vegas_does_not_oscillate_more_than_30_percent_under_20_percent_noise() {
    for seed in [42, 7, 2026] {
      let mut c = controller(Algorithm::Vegas);
      let trace = simulate(Scenario { seed, ..scenario(0.2, None, 40 * S) }, &mut c);
      let settled = between(&trace, 10 * S, 40 * S);
      for l in &settled {
        assert!((14.0..=26.0).contains(l), "seed {seed}: limit {l} outside 20 ± 30% under noise: {settled:?}");
      }
    }
  }

  #[test]
  fn gradient_and_aimd_find_the_knee_region_and_follow_a_step() {
    for algorithm in [Algorithm::Gradient, Algorithm::Aimd] {
      let mut c = controller(algorithm);
      let trace = simulate(scenario(0.1, Some((20 * S, 10)), 40 * S), &mut c);
      let before = between(&trace, 10 * S, 20 * S);
      let after = between(&trace, 32 * S, 40 * S);
      for l in &before {
        assert!((10.0..=40.0).contains(l), "{algorithm:?}: {l} before the step: {before:?}");
      }
      for l in &after {
        assert!((5.0..=20.0).contains(l), "{algorithm:?}: {l} after the step: {after:?}");
      }
    }
  }

  #[test]
  fn refusals_bring_an_oversized_limit_down() {
    let mut c = Controller::new(Algorithm::Vegas, Bounds { min: 1.0, max: 1000.0, initial: 200.0 });
    let trace = simulate(scenario(0.0, None, 20 * S), &mut c);
    let end = between(&trace, 15 * S, 20 * S);
    for l in &end {
      assert!((15.0..=25.0).contains(l), "from 200 down to the knee: {end:?}");
    }
  }

  #[test]
  fn vegas_slow_start_reaches_the_knee_in_a_few_round_trips_without_overshooting() {
    // From 4, cold: within 90% of the knee (20) by 0.5 s (10 round trips of 50 ms) and at most
    // one above it from then on. Without noise, never above 21 at all. With 5% noise, one task
    // too many spreads its wait over all and can go unseen: one more step (to 30, for one round
    // trip) before slow start ends. That is the overshoot left.
    for (noise, seed, peak) in [(0.0, 42, 21.0), (0.02, 7, 30.0), (0.05, 42, 30.0), (0.05, 2026, 30.0)] {
      let mut c = controller(Algorithm::Vegas);
      let trace = simulate(Scenario { seed, ..scenario(noise, None, 4 * S) }, &mut c);
      let settled = between(&trace, S / 2, 4 * S);
      assert!(settled.iter().all(|&l| (18.0..=22.0).contains(&l)), "noise {noise} seed {seed}: {trace:?}");
      assert!(trace.iter().all(|&(_, l)| l <= peak), "noise {noise} seed {seed}: {trace:?}");
    }
  }

  #[test]
  fn vegas_after_slow_start_follows_a_step_down_within_a_second() {
    // Capacity halves 1 s in (the sweep's --step at 2 s levels): within 1 s the limit is at the
    // new knee (10) or just around it, and it does not undershoot it.
    let mut c = controller(Algorithm::Vegas);
    let trace = simulate(scenario(0.0, Some((S, 10)), 3 * S), &mut c);
    let before = between(&trace, S / 2, 9 * S / 10);
    let after = between(&trace, 2 * S, 3 * S);
    assert!(before.iter().all(|&l| (18.0..=21.0).contains(&l)), "{trace:?}");
    assert!(after.iter().all(|&l| (8.0..=12.0).contains(&l)), "{trace:?}");
    // Not below the new knee on the way down: a second removal right after the first halves
    // what the window (still holding tasks that waited at the old limit) shows.
    assert!(between(&trace, S, 3 * S).iter().all(|&l| l >= 10.0), "{trace:?}");
  }

  #[test]
  fn vegas_enters_slow_start_again_when_the_downstream_grows() {
    // 10 servers, then 40 at 10 s: +1 a window takes ~60 windows (3 s, at 22 by 12.5 s); slow
    // start again, after six clean rises, gets within 25% of 40 by 12.5 s.
    let mut c = controller(Algorithm::Vegas);
    let spec = DownstreamSpec::from_capacity(200.0, 50.0, Some(40)).unwrap();
    let trace = simulate(
      Scenario { spec, noise: 0.0, step_at: Some(10 * S), step_servers: 40, duration: 20 * S, seed: 1 },
      &mut c,
    );
    let late = between(&trace, 25 * S / 2, 20 * S);
    assert!(late.iter().all(|&l| (30.0..=50.0).contains(&l)), "{trace:?}");
  }
}
