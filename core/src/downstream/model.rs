//! The built-in downstream's model: a service that can serve `capacity` requests a second at
//! `latency` each. By Little's law it has `servers = capacity × latency` requests in service at
//! full load; more wait FIFO in a waiting room of `queue` places; beyond that it answers 429, as a
//! rate-limited service does. Its knee is therefore `servers`: below it throughput grows with
//! concurrency, above it only latency does. Pure Rust, shared by the HTTP server and the tests.
//! Its bounds are the room's wire constants ([`super::wire`]): the JS side checks them first.
//!
//! A [`Limiter`] may stand in front of it, as a proxy's limiter stands in front of an app: `Conn`
//! answers 503 at once beyond a number of requests in flight (nginx's `limit_conn`), `Rate`
//! answers 429 beyond a rate (nginx's `limit_req`, a token bucket).

use crate::downstream::wire::{
  MAX_CAPACITY, MAX_CONN_LIMIT, MAX_LATENCY_MS, MAX_RATE_LIMIT, MAX_SERVERS, MODE_CONN, MODE_QUEUE, MODE_RATE,
};
use std::time::Duration;

/// What stands in front of the servers and their waiting room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limiter {
  /// Nothing: requests wait in the waiting room, then 429 (the model alone).
  Queue,
  /// 503 at once when `limit` requests are already in flight; no queue.
  Conn { limit: u32 },
  /// 429 (with `Retry-After`) beyond `per_sec` requests a second: a token bucket of `burst`
  /// tokens refilled at `per_sec`.
  Rate { per_sec: f64, burst: f64 },
}

impl Limiter {
  /// From the wire: `mode` (`MODE_*`) and its `limit`. `Queue` takes no limit; the others need
  /// one in range. Errors name the option, never a panic.
  pub fn from_wire(mode: u32, limit: Option<f64>) -> Result<Limiter, String> {
    match (mode, limit) {
      (MODE_QUEUE, None) => Ok(Limiter::Queue),
      (MODE_QUEUE, Some(_)) => Err("`limit` goes with mode conn or rate, not queue".into()),
      (MODE_CONN | MODE_RATE, None) => Err("Expected a `limit` with mode conn or rate".into()),
      (MODE_CONN, Some(l)) => {
        if l.fract() == 0.0 && (1.0..=MAX_CONN_LIMIT).contains(&l) {
          Ok(Limiter::Conn { limit: l as u32 })
        } else {
          Err(format!("Expected `limit` (mode conn) to be an integer from 1 to {MAX_CONN_LIMIT:?}, got {l:?}"))
        }
      }
      (MODE_RATE, Some(l)) => {
        if l > 0.0 && l <= MAX_RATE_LIMIT {
          // A burst of 50 ms worth of requests (at least one): strict, as nginx without `burst`,
          // yet not so strict that a closed loop under the rate is refused for its jitter.
          Ok(Limiter::Rate { per_sec: l, burst: (l / 20.0).max(1.0) })
        } else {
          Err(format!("Expected `limit` (mode rate) to be a number of requests per second above 0 and at most {MAX_RATE_LIMIT:?}, got {l:?}"))
        }
      }
      _ => {
        Err(format!("Expected `mode` to be {MODE_QUEUE} (queue), {MODE_CONN} (conn) or {MODE_RATE} (rate), got {mode}"))
      }
    }
  }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DownstreamSpec {
  /// Requests served at once.
  pub servers: u32,
  /// Time to serve one request.
  pub service: Duration,
  /// Requests that may wait for a server; more are refused with 429.
  pub queue: u32,
}

impl DownstreamSpec {
  /// From a capacity in requests per second and a latency in ms; `queue` defaults to as many
  /// places as servers. Out-of-range numbers are an error naming the option, never a panic.
  pub fn from_capacity(capacity_per_sec: f64, latency_ms: f64, queue: Option<u32>) -> Result<DownstreamSpec, String> {
    if !(capacity_per_sec > 0.0 && capacity_per_sec <= MAX_CAPACITY) {
      return Err(format!(
        "Expected `capacity` to be a number of requests per second above 0 and at most {MAX_CAPACITY:?}, got {capacity_per_sec:?}"
      ));
    }
    if !(latency_ms > 0.0 && latency_ms <= MAX_LATENCY_MS) {
      return Err(format!(
        "Expected `latency` to be a number of milliseconds above 0 and at most {MAX_LATENCY_MS:?}, got {latency_ms:?}"
      ));
    }
    let servers = (capacity_per_sec * latency_ms / 1000.0).round().max(1.0);
    if servers > MAX_SERVERS {
      return Err(format!(
        "Expected `capacity` × `latency` / 1000 (requests in service at once) to be at most {MAX_SERVERS:?}, got {servers:?}"
      ));
    }
    let service =
      Duration::try_from_secs_f64(latency_ms / 1000.0).map_err(|e| format!("`latency` {latency_ms:?}: {e}"))?;
    let servers = servers as u32;
    Ok(DownstreamSpec { servers, service, queue: queue.unwrap_or(servers) })
  }

  /// The concurrency at which throughput stops growing: the number of servers.
  pub fn knee(&self) -> u32 {
    self.servers
  }

  /// Requests per second at full load.
  pub fn capacity(&self) -> f64 {
    if self.service.is_zero() {
      f64::INFINITY
    } else {
      self.servers as f64 / self.service.as_secs_f64()
    }
  }

  /// Steady state with `clients` each sending one request after the other (a closed loop):
  /// (throughput per second, latency, refused fraction). Below the knee every request is
  /// served at once; above it the excess waits or is refused.
  pub fn steady_state(&self, clients: u32) -> (f64, Duration, f64) {
    let w = self.service.as_secs_f64();
    if clients <= self.servers {
      return (clients as f64 / w, self.service, 0.0);
    }
    let waiting = (clients - self.servers).min(self.queue);
    let refused = clients - self.servers - waiting;
    // Waiting requests queue behind full rounds of service.
    let rounds = 1.0 + waiting as f64 / self.servers as f64;
    let served = self.capacity();
    let refused_fraction = refused as f64 / clients as f64;
    (served, Duration::from_secs_f64(w * rounds), refused_fraction)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn default_downstream_has_its_knee_at_twenty() {
    let d = DownstreamSpec::from_capacity(400.0, 50.0, None).unwrap();
    assert_eq!(d.knee(), 20);
    assert_eq!(d.queue, 20);
    assert!((d.capacity() - 400.0).abs() < 1e-9);
  }

  #[test]
  fn steady_state_shows_the_knee() {
    let d = DownstreamSpec::from_capacity(400.0, 50.0, Some(40)).unwrap();
    let (t10, l10, r10) = d.steady_state(10);
    assert!((t10 - 200.0).abs() < 1e-9 && l10 == d.service && r10 == 0.0);
    let (t20, _, _) = d.steady_state(20);
    let (t40, l40, r40) = d.steady_state(40);
    assert!((t20 - 400.0).abs() < 1e-9);
    assert!((t40 - t20).abs() < 1e-9, "no more throughput past the knee");
    assert!(l40 > d.service && r40 == 0.0, "only more latency");
    let (_, _, r100) = d.steady_state(100);
    assert!(r100 > 0.0, "past the waiting room: 429s");
  }

  #[test]
  fn limiters_from_the_wire_are_validated() {
    assert_eq!(Limiter::from_wire(MODE_QUEUE, None), Ok(Limiter::Queue));
    assert_eq!(Limiter::from_wire(MODE_CONN, Some(20.0)), Ok(Limiter::Conn { limit: 20 }));
    assert_eq!(Limiter::from_wire(MODE_RATE, Some(300.0)), Ok(Limiter::Rate { per_sec: 300.0, burst: 15.0 }));
    assert_eq!(Limiter::from_wire(MODE_RATE, Some(2.0)), Ok(Limiter::Rate { per_sec: 2.0, burst: 1.0 }));
    for (mode, limit) in [
      (MODE_QUEUE, Some(5.0)),
      (MODE_CONN, None),
      (MODE_RATE, None),
      (MODE_CONN, Some(0.0)),
      (MODE_CONN, Some(1.5)),
      (MODE_CONN, Some(f64::NAN)),
      (MODE_CONN, Some(1e300)),
      (MODE_RATE, Some(0.0)),
      (MODE_RATE, Some(f64::INFINITY)),
      (MODE_RATE, Some(f64::NAN)),
      (MODE_RATE, Some(-1.0)),
    ] {
      let error = Limiter::from_wire(mode, limit).unwrap_err();
      assert!(error.contains("`limit`"), "{mode} {limit:?}: {error}");
    }
    assert!(Limiter::from_wire(7, None).unwrap_err().contains("`mode`"));
  }

  #[test]
  fn out_of_range_numbers_are_errors_naming_the_option_not_panics() {
    for (capacity, latency, name) in [
      (400.0, 1e300, "`latency`"),
      (400.0, f64::NAN, "`latency`"),
      (400.0, f64::INFINITY, "`latency`"),
      (400.0, 0.0, "`latency`"),
      (400.0, -5.0, "`latency`"),
      (f64::NAN, 50.0, "`capacity`"),
      (1e300, 50.0, "`capacity`"),
      (0.0, 50.0, "`capacity`"),
      (1e9, 86_400_000.0, "`capacity` × `latency`"),
    ] {
      let error = DownstreamSpec::from_capacity(capacity, latency, None).unwrap_err();
      assert!(error.contains(name), "{capacity} {latency}: {error}");
    }
    let tiny = DownstreamSpec::from_capacity(1e-300, 1e-300, None).unwrap();
    assert_eq!(tiny.servers, 1);
    let slow = DownstreamSpec::from_capacity(1.0, MAX_LATENCY_MS, None).unwrap();
    assert_eq!(slow.service, Duration::from_secs(86_400));
  }
}
