//! The built-in downstream as a real HTTP/1.1 server on 127.0.0.1, on its own thread with its own
//! tokio runtime (hyper serves it), so it never shares the event loop with the load it measures.
//! It follows `DownstreamSpec`: a request takes a server for `service`, waits FIFO when all are
//! busy, and is answered 429 when the waiting room is full. The addon's `src/downstream.rs`
//! starts it for `bin/downstream.js`.

use crate::downstream::model::DownstreamSpec;
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
  servers: Arc<Semaphore>,
  c: Arc<Counters>,
  _req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
  c.requests.fetch_add(1, Ordering::Relaxed);
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

/// Starts the server on 127.0.0.1:`port` (0 picks a free port).
pub fn start(spec: DownstreamSpec, port: u16) -> std::io::Result<Server> {
  let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
  listener.set_nonblocking(true)?;
  let port = listener.local_addr()?.port();
  let counters = Arc::new(Counters::default());
  let control = Arc::new(Control { stop: Notify::new(), stopped: AtomicBool::new(false), thread: Mutex::new(None) });
  let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
  let runtime_handle = runtime.handle().clone();
  let servers = Arc::new(Semaphore::new(spec.servers as usize));
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
            let (servers, c) = (servers.clone(), c.clone());
            tokio::spawn(async move {
              let service = service_fn(move |req| handle(spec, servers.clone(), c.clone(), req));
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
}
