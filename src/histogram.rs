//! The Rust histogram, for JS callers that record values one by one (the sweep records each
//! request's latency): `record(ns)`, percentiles, min/max/mean/stddev/count, `reset()`. The
//! histogram itself is the core's (`core/src/histogram.rs`).

use async_shape_core::histogram::Histogram;
use napi_derive::napi;

#[napi(js_name = "NativeHistogram")]
pub struct NativeHistogram {
  inner: Histogram,
}

impl Default for NativeHistogram {
  fn default() -> Self {
    Self::new()
  }
}

#[napi]
impl NativeHistogram {
  #[napi(constructor, catch_unwind)]
  pub fn new() -> Self {
    NativeHistogram { inner: Histogram::new() }
  }

  /// Records one value (negative values count as 0).
  #[napi(catch_unwind)]
  pub fn record(&mut self, value: f64) {
    self.inner.record(value.max(0.0) as u64);
  }

  #[napi(catch_unwind)]
  pub fn percentile(&self, p: f64) -> f64 {
    self.inner.percentile(p) as f64
  }

  #[napi(getter, catch_unwind)]
  pub fn count(&self) -> f64 {
    self.inner.count() as f64
  }

  #[napi(getter, catch_unwind)]
  pub fn min(&self) -> f64 {
    self.inner.min() as f64
  }

  #[napi(getter, catch_unwind)]
  pub fn max(&self) -> f64 {
    self.inner.max() as f64
  }

  #[napi(getter, catch_unwind)]
  pub fn mean(&self) -> f64 {
    self.inner.mean()
  }

  #[napi(getter, catch_unwind)]
  pub fn stddev(&self) -> f64 {
    self.inner.stddev()
  }

  #[napi(catch_unwind)]
  pub fn reset(&mut self) {
    self.inner.reset();
  }
}
