//! The built-in downstream as a real HTTP/1.1 server on 127.0.0.1, on its own thread with its own
//! tokio runtime (hyper serves it), so it never shares the event loop with the load it measures.
//! It follows `DownstreamSpec`: a request takes a server for `service`, waits FIFO when all are
//! busy, and is answered 429 when the waiting room is full. A [`Limiter`] may stand in front:
//! `Conn` answers 503 at once beyond its requests in flight, `Rate` answers 429 with
//! `Retry-After` beyond its rate. The addon's `src/downstream.rs` starts it for
//! `bin/downstream.js`.

use crate::downstream::model::{DownstreamSpec, Limiter};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::{Notify, Semaphore};

#[derive(Default)]
pub struct Counters {
  pub requests: AtomicU64,
  pub served: AtomicU64,
  pub refused: AtomicU64,
  pub in_service: AtomicU64,
  pub max_in_service: AtomicU64,
  pub waiting: AtomicU64,
  pub max_waiting: AtomicU64,
  pub connections: AtomicU64,
  /// Refused by the limiter (mode conn: 503, mode rate: 429); also counted in `refused`.
  pub limited: AtomicU64,
  /// Requests past the limiter and not yet answered.
  pub in_flight: AtomicU64,
  pub max_in_flight: AtomicU64,
}

/// The limiter's state: a token bucket (mode rate).
struct Gate {
  limiter: Limiter,
  bucket: Mutex<(f64, Instant)>,
}

impl Gate {
  fn new(limiter: Limiter) -> Gate {
    let burst = if let Limiter::Rate { burst, .. } = limiter { burst } else { 0.0 };
    Gate { limiter, bucket: Mutex::new((burst, Instant::now())) }
  }

  /// Mode rate: takes a token, or says how long until one is there.
  fn take(&self, per_sec: f64, burst: f64) -> Result<(), f64> {
    let Ok(mut b) = self.bucket.lock() else { return Ok(()) };
    let now = Instant::now();
    let tokens = (b.0 + now.duration_since(b.1).as_secs_f64() * per_sec).min(burst);
    b.1 = now;
    if tokens >= 1.0 {
      b.0 = tokens - 1.0;
      Ok(())
    } else {
      b.0 = tokens;
      Err((1.0 - tokens) / per_sec)
    }
  }
}

/// Counts a request in flight until it is answered (or its connection drops).
struct InFlight(Arc<Counters>);

impl Drop for InFlight {
  fn drop(&mut self) {
    self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
  }
}

fn refuse(c: &Counters, status: StatusCode, retry_after: Option<u64>) -> Response<Full<Bytes>> {
  c.refused.fetch_add(1, Ordering::Relaxed);
  c.limited.fetch_add(1, Ordering::Relaxed);
  let mut res = Response::new(Full::new(Bytes::from_static(b"limited\n")));
  *res.status_mut() = status;
  if let Some(seconds) = retry_after {
    res.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(seconds));
  }
  res
}

pub struct Control {
  stop: Notify,
  stopped: AtomicBool,
  thread: Mutex<Option<JoinHandle<()>>>,
}

impl Control {
  /// Stops the server and waits for its thread. Idempotent.
  pub fn shutdown(&self) {
    if self.stopped.swap(true, Ordering::SeqCst) {
      return;
    }
    self.stop.notify_one();
    if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
      let _ = t.join();
    }
  }
}

pub struct Server {
  pub port: u16,
  pub spec: DownstreamSpec,
  pub limiter: Limiter,
  pub counters: Arc<Counters>,
  pub control: Arc<Control>,
  servers: Arc<Semaphore>,
  current: Arc<std::sync::atomic::AtomicU32>,
  runtime: tokio::runtime::Handle,
}

impl Server {
  /// Changes the number of servers (a step change of capacity). Requests in service finish; a
  /// lower number takes effect as servers free up.
  pub fn set_servers(&self, n: u32) {
    let n = n.clamp(1, crate::downstream::wire::MAX_SERVERS as u32);
    let before = self.current.swap(n, Ordering::SeqCst);
    if n > before {
      self.servers.add_permits((n - before) as usize);
    } else if n < before {
      let servers = self.servers.clone();
      self.runtime.spawn(async move {
        if let Ok(permits) = servers.acquire_many_owned(before - n).await {
          permits.forget();
        }
      });
    }
  }

  pub fn servers(&self) -> u32 {
    self.current.load(Ordering::SeqCst)
  }
}

fn raise_max(max: &AtomicU64, value: u64) {
  max.fetch_max(value, Ordering::Relaxed);
}

async fn handle(
  spec: DownstreamSpec,
  gate: Arc<Gate>,
  servers: Arc<Semaphore>,
  c: Arc<Counters>,
  _req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
  c.requests.fetch_add(1, Ordering::Relaxed);
  match gate.limiter {
    Limiter::Queue => {}
    Limiter::Conn { limit } => {
      if c.in_flight.load(Ordering::SeqCst) >= u64::from(limit) {
        return Ok(refuse(&c, StatusCode::SERVICE_UNAVAILABLE, None));
      }
    }
    Limiter::Rate { per_sec, burst } => {
      if let Err(wait) = gate.take(per_sec, burst) {
        // Retry-After is whole seconds: round up, at least 1.
        return Ok(refuse(&c, StatusCode::TOO_MANY_REQUESTS, Some(wait.ceil().max(1.0) as u64)));
      }
    }
  }
  let flying = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
  raise_max(&c.max_in_flight, flying);
  let _in_flight = InFlight(c.clone());
  let permit = match servers.clone().try_acquire_owned() {
    Ok(p) => p,
    Err(_) => {
      let waiting = c.waiting.fetch_add(1, Ordering::SeqCst) + 1;
      if waiting > spec.queue as u64 {
        c.waiting.fetch_sub(1, Ordering::SeqCst);
        c.refused.fetch_add(1, Ordering::Relaxed);
        let mut res = Response::new(Full::new(Bytes::from_static(b"busy\n")));
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(res);
      }
      raise_max(&c.max_waiting, waiting);
      let permit = servers.acquire_owned().await;
      c.waiting.fetch_sub(1, Ordering::SeqCst);
      match permit {
        Ok(p) => p,
        Err(_) => return Ok(Response::new(Full::new(Bytes::from_static(b"closing\n")))),
      }
    }
  };
  let busy = c.in_service.fetch_add(1, Ordering::SeqCst) + 1;
  raise_max(&c.max_in_service, busy);
  tokio::time::sleep(spec.service).await;
  c.in_service.fetch_sub(1, Ordering::SeqCst);
  drop(permit);
  c.served.fetch_add(1, Ordering::Relaxed);
  Ok(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
}

/// Starts the server on 127.0.0.1:`port` (0 picks a free port), with nothing in front.
pub fn start(spec: DownstreamSpec, port: u16) -> std::io::Result<Server> {
  start_with(spec, Limiter::Queue, port)
}

/// Starts the server on 127.0.0.1:`port` (0 picks a free port) with `limiter` in front.
pub fn start_with(spec: DownstreamSpec, limiter: Limiter, port: u16) -> std::io::Result<Server> {
  let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
  listener.set_nonblocking(true)?;
  let port = listener.local_addr()?.port();
  let counters = Arc::new(Counters::default());
  let control = Arc::new(Control { stop: Notify::new(), stopped: AtomicBool::new(false), thread: Mutex::new(None) });
  let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
  let runtime_handle = runtime.handle().clone();
  let servers = Arc::new(Semaphore::new(spec.servers as usize));
  let gate = Arc::new(Gate::new(limiter));
  let (c, ctl, sem) = (counters.clone(), control.clone(), servers.clone());
  let thread = std::thread::Builder::new().name("async-shape-downstream".into()).spawn(move || {
    runtime.block_on(async move {
      let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
      };
      let servers = sem;
      loop {
        tokio::select! {
          _ = ctl.stop.notified() => break,
          accepted = listener.accept() => {
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            c.connections.fetch_add(1, Ordering::Relaxed);
            let (servers, c, gate) = (servers.clone(), c.clone(), gate.clone());
            tokio::spawn(async move {
              let service = service_fn(move |req| handle(spec, gate.clone(), servers.clone(), c.clone(), req));
              let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
            });
          }
        }
      }
      servers.close();
    });
  })?;
  if let Ok(mut t) = control.thread.lock() {
    *t = Some(thread);
  }
  Ok(Server {
    port,
    spec,
    limiter,
    counters,
    control,
    servers,
    current: Arc::new(std::sync::atomic::AtomicU32::new(spec.servers)),
    runtime: runtime_handle,
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::{Read, Write};
  use std::time::Duration;

  fn get(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
  }

  #[test]
  fn serves_then_refuses_past_the_waiting_room() {
    let spec = DownstreamSpec { servers: 1, service: Duration::from_millis(300), queue: 1 };
    let server = start(spec, 0).unwrap();
    let port = server.port;
    let handles: Vec<_> = (0..3)
      .map(|i| {
        std::thread::sleep(Duration::from_millis(if i == 0 { 0 } else { 50 }));
        std::thread::spawn(move || get(port))
      })
      .collect();
    let answers: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = answers.iter().filter(|a| a.starts_with("HTTP/1.1 200")).count();
    let refused = answers.iter().filter(|a| a.starts_with("HTTP/1.1 429")).count();
    assert_eq!((ok, refused), (2, 1), "{answers:?}");
    assert_eq!(server.counters.max_in_service.load(Ordering::SeqCst), 1);
    server.control.shutdown();
    server.control.shutdown();
  }

  fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
  }

  #[test]
  fn mode_conn_refuses_at_once_with_503_beyond_its_limit() {
    let spec = DownstreamSpec { servers: 10, service: Duration::from_millis(300), queue: 10 };
    let server = start_with(spec, Limiter::Conn { limit: 2 }, 0).unwrap();
    let port = server.port;
    let handles: Vec<_> = (0..4)
      .map(|_| {
        std::thread::sleep(Duration::from_millis(30));
        std::thread::spawn(move || {
          let t = std::time::Instant::now();
          (get(port), t.elapsed())
        })
      })
      .collect();
    let answers: Vec<(String, Duration)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = answers.iter().filter(|a| status(&a.0) == 200).count();
    let refused: Vec<_> = answers.iter().filter(|a| status(&a.0) == 503).collect();
    assert_eq!((ok, refused.len()), (2, 2), "{answers:?}");
    // Refused at once, not after waiting for a server.
    assert!(refused.iter().all(|a| a.1 < Duration::from_millis(250)), "{answers:?}");
    assert_eq!(server.counters.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(server.counters.limited.load(Ordering::SeqCst), 2);
    assert_eq!(server.counters.max_waiting.load(Ordering::SeqCst), 0, "no queue");
    server.control.shutdown();
  }

  #[test]
  fn mode_rate_refuses_with_429_and_retry_after_beyond_its_rate() {
    let spec = DownstreamSpec { servers: 10, service: Duration::from_millis(1), queue: 10 };
    // 1 request a second, a burst of 1: the second request at once is refused.
    let server = start_with(spec, Limiter::Rate { per_sec: 1.0, burst: 1.0 }, 0).unwrap();
    let first = get(server.port);
    let second = get(server.port);
    assert_eq!(status(&first), 200, "{first}");
    assert_eq!(status(&second), 429, "{second}");
    assert!(second.to_ascii_lowercase().contains("retry-after: 1\r\n"), "{second}");
    assert_eq!(server.counters.limited.load(Ordering::SeqCst), 1);
    server.control.shutdown();
  }
}
