//! A log-linear latency histogram (HdrHistogram-style, ~3% relative precision).
//!
//! Values are nanoseconds. Values below 32 are exact. Above, each power of two is split into 32
//! sub-buckets, so a percentile is off by at most 1/32 of its value. Fixed size (~15 KiB), O(1)
//! record, no allocation after construction. Shared by the pool's statistics and the event-loop
//! monitor.

const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

#[derive(Clone)]
pub struct Histogram {
  counts: Box<[u64]>,
  count: u64,
  min: u64,
  max: u64,
  sum: f64,
  sum_sq: f64,
}

impl Default for Histogram {
  fn default() -> Self {
    Self::new()
  }
}

#[inline]
fn index_of(v: u64) -> usize {
  if v < SUB as u64 {
    return v as usize;
  }
  let e = 63 - v.leading_zeros();
  let shift = e - SUB_BITS;
  let sub = ((v >> shift) as usize) & (SUB - 1);
  (shift as usize + 1) * SUB + sub
}

/// The highest value that lands in bucket `i`.
#[inline]
fn upper_of(i: usize) -> u64 {
  if i < SUB {
    return i as u64;
  }
  let shift = (i / SUB - 1) as u32;
  let sub = (i % SUB) as u64;
  (((SUB as u64 + sub + 1) as u128) << shift).saturating_sub(1).min(u64::MAX as u128) as u64
}

impl Histogram {
  pub fn new() -> Self {
    Histogram { counts: vec![0; BUCKETS].into_boxed_slice(), count: 0, min: u64::MAX, max: 0, sum: 0.0, sum_sq: 0.0 }
  }

  #[inline]
  pub fn record(&mut self, v: u64) {
    self.counts[index_of(v)] += 1;
    self.count += 1;
    self.min = self.min.min(v);
    self.max = self.max.max(v);
    let f = v as f64;
    self.sum += f;
    self.sum_sq += f * f;
  }

  pub fn reset(&mut self) {
    self.counts.iter_mut().for_each(|c| *c = 0);
    self.count = 0;
    self.min = u64::MAX;
    self.max = 0;
    self.sum = 0.0;
    self.sum_sq = 0.0;
  }

  pub fn count(&self) -> u64 {
    self.count
  }
  /// 0 when empty.
  pub fn min(&self) -> u64 {
    if self.count == 0 {
      0
    } else {
      self.min
    }
  }
  pub fn max(&self) -> u64 {
    self.max
  }
  /// NaN when empty, as `perf_hooks` histograms report.
  pub fn mean(&self) -> f64 {
    if self.count == 0 {
      f64::NAN
    } else {
      self.sum / self.count as f64
    }
  }
  /// Population standard deviation; NaN when empty.
  pub fn stddev(&self) -> f64 {
    if self.count == 0 {
      return f64::NAN;
    }
    let n = self.count as f64;
    let mean = self.sum / n;
    (self.sum_sq / n - mean * mean).max(0.0).sqrt()
  }

  /// The value at or below which `p` percent of the recorded values fall (0 < p <= 100),
  /// reported as the highest value equivalent to its bucket and clamped to the exact max.
  /// 0 when empty.
  pub fn percentile(&self, p: f64) -> u64 {
    if self.count == 0 {
      return 0;
    }
    let p = p.clamp(0.0, 100.0);
    let target = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, c) in self.counts.iter().enumerate() {
      seen += c;
      if seen >= target {
        return upper_of(i).clamp(self.min, self.max);
      }
    }
    self.max
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn empty_histogram_reports_zeroes_and_nan() {
    let h = Histogram::new();
    assert_eq!(h.count(), 0);
    assert_eq!(h.min(), 0);
    assert_eq!(h.max(), 0);
    assert!(h.mean().is_nan());
    assert_eq!(h.percentile(99.0), 0);
  }

  #[test]
  fn small_values_are_exact() {
    let mut h = Histogram::new();
    for v in 0..32 {
      h.record(v);
    }
    assert_eq!(h.percentile(50.0), 15);
    assert_eq!(h.percentile(100.0), 31);
    assert_eq!(h.min(), 0);
  }

  #[test]
  fn percentiles_stay_within_relative_precision() {
    let mut h = Histogram::new();
    for v in 1..=100_000u64 {
      h.record(v * 1000);
    }
    for (p, exact) in [(50.0, 50_000_000u64), (90.0, 90_000_000), (99.0, 99_000_000)] {
      let got = h.percentile(p) as f64;
      let err = (got - exact as f64).abs() / exact as f64;
      assert!(err < 1.0 / 32.0, "p{p}: got {got}, exact {exact}");
    }
    assert_eq!(h.percentile(100.0), 100_000_000);
    assert!((h.mean() - 50_000_500.0).abs() < 1.0);
  }

  #[test]
  fn huge_values_do_not_overflow() {
    let mut h = Histogram::new();
    h.record(u64::MAX);
    h.record(1);
    assert_eq!(h.percentile(100.0), u64::MAX);
    assert_eq!(h.percentile(50.0), 1);
  }

  #[test]
  fn stddev_of_constant_is_zero() {
    let mut h = Histogram::new();
    for _ in 0..10 {
      h.record(500);
    }
    assert_eq!(h.stddev(), 0.0);
    h.reset();
    assert_eq!(h.count(), 0);
  }
}
