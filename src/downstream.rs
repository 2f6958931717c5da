//! The built-in downstream's binding (`core/src/downstream/`) for `bin/downstream.js`: start it,
//! read its counters, close it. Not a hot path, so napi-rs' generated class is used, and options
//! and counters cross as objects with named fields. The server thread is stopped by `close()`,
//! when the object is collected, or by an env cleanup hook when the JS thread (a worker, or the
//! process) ends.
//!
//! No unsafe code, and nothing here calls into JS.

use async_shape_core::downstream::model::{DownstreamSpec, Limiter};
use async_shape_core::downstream::server::{start_with, Server};
use async_shape_core::downstream::wire::{MODE_CONN, MODE_QUEUE, MODE_RATE};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::atomic::Ordering;

#[napi(object)]
pub struct DownstreamOptions {
  /// Requests per second at full load.
  pub capacity: f64,
  /// Service time of one request, in ms.
  pub latency: f64,
  /// Waiting-room places; default: as many as servers.
  pub queue: Option<u32>,
  /// Port on 127.0.0.1; 0 picks a free one.
  pub port: Option<u32>,
  /// `MODE_QUEUE` (the default), `MODE_CONN` or `MODE_RATE` (the room's wire codes).
  pub mode: Option<u32>,
  /// Mode conn: requests in flight; mode rate: requests per second.
  pub limit: Option<f64>,
}

#[napi(object)]
pub struct DownstreamCounters {
  pub requests: f64,
  pub served: f64,
  pub refused: f64,
  pub in_service: f64,
  pub max_in_service: f64,
  pub waiting: f64,
  pub max_waiting: f64,
  pub connections: f64,
  pub limited: f64,
  pub in_flight: f64,
  pub max_in_flight: f64,
}

#[napi]
pub struct NativeDownstream {
  server: Server,
}

#[napi]
impl NativeDownstream {
  #[napi(factory, catch_unwind)]
  pub fn start(env: Env, options: DownstreamOptions) -> Result<Self> {
    let spec = DownstreamSpec::from_capacity(options.capacity, options.latency, options.queue)
      .map_err(|e| Error::new(Status::InvalidArg, format!("async-shape: {e}")))?;
    let limiter = Limiter::from_wire(options.mode.unwrap_or(MODE_QUEUE), options.limit)
      .map_err(|e| Error::new(Status::InvalidArg, format!("async-shape: {e}")))?;
    let port = options.port.unwrap_or(0);
    let port = u16::try_from(port).map_err(|_| {
      Error::new(
        Status::InvalidArg,
        format!("async-shape: Expected `port` to be an integer from 0 to 65535, got {port}"),
      )
    })?;
    let server = start_with(spec, limiter, port)
      .map_err(|e| Error::from_reason(format!("cannot start the downstream on 127.0.0.1:{port}: {e}")))?;
    let control = server.control.clone();
    if let Err(error) = env.add_env_cleanup_hook(control, |c| c.shutdown()) {
      // `Server` has no `Drop`: without this its thread would outlive the error.
      server.control.shutdown();
      return Err(error);
    }
    Ok(NativeDownstream { server })
  }

  #[napi(getter, catch_unwind)]
  pub fn port(&self) -> u32 {
    self.server.port as u32
  }

  /// Requests served at once now: the knee.
  #[napi(getter, catch_unwind)]
  pub fn servers(&self) -> u32 {
    self.server.servers()
  }

  /// A step change: serve `n` requests at once from now on.
  #[napi(catch_unwind)]
  pub fn set_servers(&self, n: u32) {
    self.server.set_servers(n);
  }

  #[napi(getter, catch_unwind)]
  pub fn queue(&self) -> u32 {
    self.server.spec.queue
  }

  /// The limiter's mode (a `MODE_*` code).
  #[napi(getter, catch_unwind)]
  pub fn mode(&self) -> u32 {
    match self.server.limiter {
      Limiter::Queue => MODE_QUEUE,
      Limiter::Conn { .. } => MODE_CONN,
      Limiter::Rate { .. } => MODE_RATE,
    }
  }

  /// The limiter's limit (requests in flight or per second); null in mode queue.
  #[napi(getter, catch_unwind)]
  pub fn limit(&self) -> Option<f64> {
    match self.server.limiter {
      Limiter::Queue => None,
      Limiter::Conn { limit } => Some(f64::from(limit)),
      Limiter::Rate { per_sec, .. } => Some(per_sec),
    }
  }

  #[napi(catch_unwind)]
  pub fn counters(&self) -> DownstreamCounters {
    let c = &self.server.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
    DownstreamCounters {
      requests: get(&c.requests),
      served: get(&c.served),
      refused: get(&c.refused),
      in_service: get(&c.in_service),
      max_in_service: get(&c.max_in_service),
      waiting: get(&c.waiting),
      max_waiting: get(&c.max_waiting),
      connections: get(&c.connections),
      limited: get(&c.limited),
      in_flight: get(&c.in_flight),
      max_in_flight: get(&c.max_in_flight),
    }
  }

  /// Starts a new measurement window for the maxima.
  #[napi(catch_unwind)]
  pub fn reset_maxima(&self) {
    let c = &self.server.counters;
    c.max_in_service.store(c.in_service.load(Ordering::Relaxed), Ordering::Relaxed);
    c.max_waiting.store(c.waiting.load(Ordering::Relaxed), Ordering::Relaxed);
    c.max_in_flight.store(c.in_flight.load(Ordering::Relaxed), Ordering::Relaxed);
  }

  #[napi(catch_unwind)]
  pub fn close(&self) {
    self.server.control.shutdown();
  }
}

impl Drop for NativeDownstream {
  fn drop(&mut self) {
    self.server.control.shutdown();
  }
}
