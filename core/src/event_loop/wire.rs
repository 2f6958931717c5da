//! The event-loop room's part of the wire protocol (see `crate::wire`): the layout of the shared
//! reaction buffer, the stall kind codes, the positional arrays the addon's `loop*` functions
//! return (`src/event_loop/mod.rs`), and the sentinels `lib/event-loop/monitor.js` relies on.
//! JS reads them through `room('eventLoop')` (`lib/internal/wire.js`).

use crate::event_loop::sampler::StallKind;

crate::wire_table! {
  // The reaction buffer (`lib/internal/reactions.js`): an Int32Array of `REACTION_SLOTS` over a
  // SharedArrayBuffer (`loopCreate` refuses anything else) that the JS thread writes around each
  // promise reaction the library runs (or every reaction, with `trackPromises`) and the watchdog
  // thread reads during a stall.
  /// The "in a reaction" flag: 1 while a reaction runs, 0 otherwise.
  REACTION_FLAG: usize = 0;
  /// The reaction counter: bumped at each reaction start, wrapping modulo 2^32.
  REACTION_COUNTER: usize = 1;
  /// The buffer's length, in Int32s.
  REACTION_SLOTS: usize = 2;

  // A stall's `kind` (`loopStalls`, `loopCurrentStall`); JS names them (`'macrotask'`, ...).
  /// Synchronous code: no promise reactions ran.
  STALL_MACROTASK: u32 = StallKind::Macrotask as u32;
  /// Many promise reactions, one after the other.
  STALL_MICROTASK_BURST: u32 = StallKind::MicrotaskBurst as u32;
  /// One slow promise reaction.
  STALL_LONG_MICROTASK: u32 = StallKind::LongMicrotask as u32;
  /// Some of both.
  STALL_MIXED: u32 = StallKind::Mixed as u32;

  // `loopStats(id)`: the busy time per iteration, in ns.
  /// Samples recorded.
  STATS_COUNT: usize = 0;
  /// The smallest sample ([`EMPTY_MIN`] when there is none).
  STATS_MIN: usize = 1;
  /// The largest sample (0 when there is none).
  STATS_MAX: usize = 2;
  /// The mean (NaN when there is no sample).
  STATS_MEAN: usize = 3;
  /// The population standard deviation (NaN when there is no sample).
  STATS_STDDEV: usize = 4;
  /// The array's length.
  STATS_LEN: usize = 5;

  // `loopPercentiles(id)`: a flat list of (percentile, value in ns) pairs.
  /// The percentile's offset in a pair.
  PERCENTILE_P: usize = 0;
  /// The value's offset in a pair.
  PERCENTILE_VALUE: usize = 1;
  /// A pair's length.
  PERCENTILE_STRIDE: usize = 2;

  // `loopRecent(id)`: the recent window, for `pressure()`.
  /// The largest iteration in the recent window, in ns.
  RECENT_MAX: usize = 0;
  /// The utilization (0..1) over the recent window.
  RECENT_UTILIZATION: usize = 1;
  /// Busy time so far in the iteration in progress, in ns (0 when disabled).
  RECENT_BUSY: usize = 2;
  /// The array's length.
  RECENT_LEN: usize = 3;

  // `loopMode()`, for tests: this thread's hub.
  /// Whether sampling runs (some monitor is enabled).
  MODE_RUNNING: usize = 0;
  /// Whether the hot-loop timer samples instead of the check handle.
  MODE_HOT: usize = 1;
  /// The array's length.
  MODE_LEN: usize = 2;

  // `loopSampleCost(n)`, for the benchmark: ns per check callback.
  /// An iteration coalesced into the next sample (the hot path).
  SAMPLE_COST_COALESCED: usize = 0;
  /// An exact sample.
  SAMPLE_COST_EXACT: usize = 1;
  /// The array's length.
  SAMPLE_COST_LEN: usize = 2;

  /// The `min` of an empty histogram: INT64_MAX as a Number, as perf_hooks' IntervalHistogram
  /// reports it.
  EMPTY_MIN: f64 = i64::MAX as f64;
  /// The id no native monitor has (the perf_hooks fallback's `id`): ids start above it.
  NO_MONITOR: u32 = 0;
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn layouts_are_dense() {
    let reaction = [REACTION_FLAG, REACTION_COUNTER];
    let stats = [STATS_COUNT, STATS_MIN, STATS_MAX, STATS_MEAN, STATS_STDDEV];
    let recent = [RECENT_MAX, RECENT_UTILIZATION, RECENT_BUSY];
    let pair = [PERCENTILE_P, PERCENTILE_VALUE];
    let mode = [MODE_RUNNING, MODE_HOT];
    let cost = [SAMPLE_COST_COALESCED, SAMPLE_COST_EXACT];
    let layouts = [
      (&reaction[..], REACTION_SLOTS),
      (&stats, STATS_LEN),
      (&recent, RECENT_LEN),
      (&pair, PERCENTILE_STRIDE),
      (&mode, MODE_LEN),
      (&cost, SAMPLE_COST_LEN),
    ];
    for (layout, len) in layouts {
      let mut sorted = layout.to_vec();
      sorted.sort_unstable();
      assert_eq!(sorted, (0..len).collect::<Vec<_>>());
    }
    let kinds = [STALL_MACROTASK, STALL_MICROTASK_BURST, STALL_LONG_MICROTASK, STALL_MIXED];
    assert!(kinds.iter().enumerate().all(|(i, k)| kinds[..i].iter().all(|o| o != k)), "stall kinds are distinct");
  }
}
