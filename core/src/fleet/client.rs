//! The Redis client of one shared pool: a thread of its own running a current-thread tokio
//! runtime, with a multiplexed connection for the script and a pub/sub connection for the grant
//! messages. It owns no decision: every transition goes through the [`Ledger`] it shares with
//! the JS thread, and the JS thread is woken through the `wake` callback the binding gives
//! (coalesced there: one wake-up per batch).
//!
//! Loop: connect (timeout) → `SCRIPT LOAD` → `SUBSCRIBE` → call the script whenever the ledger
//! has something to say (or a heartbeat is due, every lease/3), one call in flight at a time, so
//! releases made meanwhile go out together in the next one; grant messages are read while a call
//! is in flight too (under a live lease a grant does not wait for a reply); between calls wait for
//! a poke, a message, or a timer (lease deadline, linger). (Two calls in flight, the second giving
//! permits back at once, were measured: no gain in hand-off latency beyond the run-to-run noise,
//! 15–25 % more script calls; not kept.) On a connection error: `STORE_DOWN`, then
//! reconnect with exponential backoff (50 ms doubling to 2 s, ± 50 % jitter), fencing when the
//! lease deadline passes meanwhile. Permanent errors (wrong password, ACL, a script error, a TLS
//! handshake failure) are `FATAL` and end the loop.
//!
//! TLS (`rediss://`): rustls (tokio-rustls) with ring's crypto, made here and handed to the redis
//! crate's connections as streams; the server's certificate is checked against
//! webpki-roots (Mozilla's CA list, as Node's `tls` does by default) or the `ca` given
//! ([`Tls`]), for the URL's host name or IP address. A password and an ACL user in the URL go in
//! `AUTH` after the handshake, on both connections.

use crate::fleet::ledger::{Ledger, Readiness, Settings};
use crate::fleet::protocol::{Keys, Message, Reply, Request, SYNC_LUA};
use crate::now_ns;
use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How a client is configured (validated by the JS layer; checked again in [`Fleet::start`]).
#[derive(Clone, Debug)]
pub struct Config {
  pub url: String,
  pub key: String,
  pub settings: Settings,
  /// `ready()` rejects when no connection succeeded within this.
  pub connect_timeout: Duration,
  /// TLS settings of a `rediss://` URL (None: the defaults; refused with a `redis://` URL).
  pub tls: Option<Tls>,
}

/// How a `rediss://` connection checks the server (`shared.tls`, Node's `tls` option names).
/// The name checked is the URL's host (a DNS name, or an IP address the certificate lists).
#[derive(Clone, Debug)]
pub struct Tls {
  /// PEM certificates to trust INSTEAD of the bundled roots (webpki-roots: Mozilla's list, the
  /// one Node's `tls` trusts by default), for a private CA.
  pub ca: Option<String>,
  /// false: the server's certificate is not checked at all (Node's `rejectUnauthorized: false`;
  /// for tests against a self-signed server only).
  pub reject_unauthorized: bool,
}

impl Default for Tls {
  fn default() -> Tls {
    Tls { ca: None, reject_unauthorized: true }
  }
}

/// Why a configuration was refused (the binding throws a TypeError).
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
  /// Not a URL the client can use; the text says why.
  Url(String),
  /// TLS settings the client cannot use (`shared.tls`); the text says why.
  Tls(String),
  /// A `ca` the client cannot use; the text says why ("holds no …").
  Ca(String),
}

/// Called from the runtime thread when the JS thread must look at the ledger.
pub type Wake = Box<dyn Fn() + Send + Sync>;

struct Shared {
  ledger: Mutex<Ledger>,
  notify: Notify,
  /// The JS thread has news coming at the end of its loop phase (`Fleet::hold_back`): the next
  /// call waits for it, at most [`HOLD_BACK`].
  held_back: AtomicBool,
  wake: Wake,
  pid: String,
  keys: Keys,
  config: Config,
}

impl Shared {
  fn ledger(&self) -> MutexGuard<'_, Ledger> {
    // A panic while the lock was held leaves plain counters: keep going with them.
    self.ledger.lock().unwrap_or_else(|e| e.into_inner())
  }

  /// Runs `f` on the ledger and wakes the JS thread if it says so.
  fn update(&self, f: impl FnOnce(&mut Ledger) -> bool) {
    let wake = f(&mut self.ledger());
    if wake {
      (self.wake)();
    }
  }

  fn describe(&self, e: &redis::RedisError) -> String {
    match tls_failure(e) {
      Some(tls) => format!("async-shape: Redis at {}: {tls}", redacted(&self.config.url)),
      None => format!("async-shape: Redis at {}: {e}", redacted(&self.config.url)),
    }
  }
}

/// A URL without its password, for messages.
pub fn redacted(url: &str) -> String {
  match (url.find("://"), url.rfind('@')) {
    (Some(scheme), Some(at)) if at > scheme => {
      let userinfo = &url[scheme + 3..at];
      let user = userinfo.split(':').next().unwrap_or("");
      format!("{}{user}{}@{}", &url[..scheme + 3], if userinfo.contains(':') { ":***" } else { "" }, &url[at + 1..])
    }
    _ => url.to_string(),
  }
}

/// Where a client connects: the URL's client (host, port, AUTH and SELECT settings), and with
/// `rediss://` the TLS connector this module runs itself (the redis crate's own TLS would link
/// rustls-native-certs, whose macOS part needs the Security framework: no cross build has it).
pub struct Endpoint {
  client: redis::Client,
  tls: Option<TlsEndpoint>,
}

struct TlsEndpoint {
  connector: tokio_rustls::TlsConnector,
  name: rustls::pki_types::ServerName<'static>,
  host: String,
  port: u16,
}

/// Checks a URL without TLS settings (see [`check`]).
pub fn check_url(url: &str) -> Result<Endpoint, ConfigError> {
  check(url, None)
}

/// Checks a URL (`redis://` or `rediss://`, parsed by the client) and its TLS settings (only with
/// `rediss://`), and makes the endpoint.
pub fn check(url: &str, tls: Option<&Tls>) -> Result<Endpoint, ConfigError> {
  let scheme = url.split("://").next().unwrap_or("");
  if url.len() == scheme.len() {
    return Err(ConfigError::Url("expected a redis:// or rediss:// URL".into()));
  }
  let secure = match scheme {
    "redis" => false,
    "rediss" => true,
    _ => return Err(ConfigError::Url(format!("expected a redis:// or rediss:// URL, got the scheme `{scheme}`"))),
  };
  if url.contains('#') {
    return Err(ConfigError::Url("a URL fragment (#…) is not allowed (`shared.tls` sets TLS options)".into()));
  }
  if tls.is_some() && !secure {
    return Err(ConfigError::Tls("TLS options go with a rediss:// URL".into()));
  }
  // The client parses the rest (user, password, host, port, db) as for redis://.
  let plain = format!("redis://{}", &url[scheme.len() + 3..]);
  let client = redis::Client::open(plain).map_err(|e| ConfigError::Url(format!("not a Redis URL: {e}")))?;
  if !secure {
    return Ok(Endpoint { client, tls: None });
  }
  let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr().clone() else {
    return Err(ConfigError::Url("expected a host and port".into()));
  };
  let name = rustls::pki_types::ServerName::try_from(host.clone())
    .map_err(|e| ConfigError::Url(format!("`{host}` is no name a certificate can hold: {e}")))?;
  let connector = tls_connector(tls.cloned().unwrap_or_default())?;
  Ok(Endpoint { client, tls: Some(TlsEndpoint { connector, name, host, port }) })
}

/// The TLS client config: ring's crypto, TLS 1.2 and 1.3, the server checked against `ca` or
/// webpki-roots, or not at all (`reject_unauthorized: false`).
fn tls_connector(tls: Tls) -> Result<tokio_rustls::TlsConnector, ConfigError> {
  let provider = Arc::new(rustls::crypto::ring::default_provider());
  let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
    .with_safe_default_protocol_versions()
    .map_err(|e| ConfigError::Tls(format!("no TLS version: {e}")))?;
  let config = if !tls.reject_unauthorized {
    builder.dangerous().with_custom_certificate_verifier(Arc::new(NoCheck(provider))).with_no_client_auth()
  } else {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca {
      None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
      Some(ca) => {
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
          let cert = cert.map_err(|e| ConfigError::Ca(format!("is not PEM: {e}")))?;
          roots
            .add(cert)
            .map_err(|e| ConfigError::Ca(format!("holds a certificate that cannot be a trust anchor: {e}")))?;
        }
        if roots.is_empty() {
          return Err(ConfigError::Ca("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
        }
      }
    }
    builder.with_root_certificates(roots).with_no_client_auth()
  };
  Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `rejectUnauthorized: false`: any certificate is taken (its signatures over the handshake are
/// still checked, so the session is with whoever holds that certificate's key).
#[derive(Debug)]
struct NoCheck(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoCheck {
  fn verify_server_cert(
    &self,
    _end_entity: &rustls::pki_types::CertificateDer<'_>,
    _intermediates: &[rustls::pki_types::CertificateDer<'_>],
    _server_name: &rustls::pki_types::ServerName<'_>,
    _ocsp_response: &[u8],
    _now: rustls::pki_types::UnixTime,
  ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
    Ok(rustls::client::danger::ServerCertVerified::assertion())
  }

  fn verify_tls12_signature(
    &self,
    message: &[u8],
    cert: &rustls::pki_types::CertificateDer<'_>,
    dss: &rustls::DigitallySignedStruct,
  ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn verify_tls13_signature(
    &self,
    message: &[u8],
    cert: &rustls::pki_types::CertificateDer<'_>,
    dss: &rustls::DigitallySignedStruct,
  ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
    self.0.signature_verification_algorithms.supported_schemes()
  }
}

/// A TLS stream to the endpoint (TCP connect, then the handshake).
async fn tls_stream(t: &TlsEndpoint) -> redis::RedisResult<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
  let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port)).await?;
  let _ = tcp.set_nodelay(true);
  Ok(t.connector.connect(t.name.clone(), tcp).await?)
}

/// The task that drives a multiplexed connection this module made itself: aborted with the
/// session (the crate does so for the connections it makes).
struct Driver(Option<tokio::task::JoinHandle<()>>);

impl Drop for Driver {
  fn drop(&mut self) {
    if let Some(h) = self.0.take() {
      h.abort();
    }
  }
}

/// The TLS failure under a connection error, if that is what it is: a certificate the client
/// does not trust, a server that does not speak TLS on that port, a handshake the server
/// refused. Such an error does not go away by retrying: `ready()` rejects at once.
pub fn tls_failure(e: &redis::RedisError) -> Option<String> {
  type Shared = Arc<dyn std::error::Error + Send + Sync>;
  // The client keeps an I/O error in an `Arc` (whose `source()` skips the io::Error, whose own
  // `source()` skips the rustls error inside it): look through both by type.
  fn rustls_of<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let err: &'a (dyn std::error::Error + 'static) = match err.downcast_ref::<Shared>() {
      Some(inner) => &**inner,
      None => err,
    };
    err.downcast_ref::<rustls::Error>().or_else(|| {
      let inner = err.downcast_ref::<std::io::Error>()?.get_ref()?;
      inner.downcast_ref::<rustls::Error>()
    })
  }
  let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
  while let Some(err) = source {
    if let Some(r) = rustls_of(err) {
      let hint = match r {
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
          " (does the server speak TLS on that port?)"
        }
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
          " (the server's certificate is not trusted: give its CA as `shared.tls.ca`)"
        }
        _ => "",
      };
      return Some(format!("TLS handshake failed: {r}{hint}"));
    }
    source = err.source();
  }
  None
}
/// A random 128-bit id in hex, with the pid for humans.
fn process_id() -> String {
  let mut h = [0u64; 2];
  for (i, x) in h.iter_mut().enumerate() {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(now_ns() ^ i as u64);
    hasher.write_u32(std::process::id());
    *x = hasher.finish();
  }
  format!("{:016x}{:016x}-{}", h[0], h[1], std::process::id())
}

/// A number in 0..1 from a fresh random hasher (jitter).
fn random_unit() -> f64 {
  let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
  hasher.write_u64(now_ns());
  (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The reconnect delay after `attempt` failures: 50 ms doubling to 2 s, ± 50 % jitter.
pub fn backoff(attempt: u32, unit: f64) -> Duration {
  let base = 50.0 * 2f64.powi(attempt.min(6) as i32);
  Duration::from_secs_f64(base.min(2000.0) * (0.5 + unit) / 1000.0)
}

/// Whether an error will not go away by retrying.
pub fn permanent(e: &redis::RedisError) -> bool {
  if tls_failure(e).is_some() {
    return true;
  }
  if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed | redis::ErrorKind::InvalidClientConfig) {
    return true;
  }
  if let Some(code) = e.code() {
    if matches!(code, "WRONGPASS" | "NOAUTH" | "NOPERM" | "ASYNCSHAPE_LIMIT") {
      return true;
    }
  }
  let text = e.to_string();
  // A database the server refuses (`redis://…/99`: SELECT fails) is a wrong URL, not an outage.
  text.contains("unknown command")
    || text.contains("Error running script")
    || text.contains("WRONGTYPE")
    || text.contains("DB index is out of range")
    || text.contains("invalid DB index")
}

/// The longest a call waits for a JS thread's loop phase to end ([`Fleet::hold_back`]): 1 ms
/// (up to 2 at tokio's timer resolution).
pub const HOLD_BACK: Duration = Duration::from_millis(1);

/// One shared pool's client. Dropping it closes it without waiting.
pub struct Fleet {
  shared: Arc<Shared>,
  done: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Fleet {
  /// Starts the runtime thread. `wake` is called (from that thread) when the JS thread must
  /// look at the ledger.
  pub fn start(config: Config, wake: Wake) -> Result<Fleet, ConfigError> {
    let endpoint = check(&config.url, config.tls.as_ref())?;
    let shared = Arc::new(Shared {
      ledger: Mutex::new(Ledger::new(config.settings.clone(), now_ns())),
      notify: Notify::new(),
      held_back: AtomicBool::new(false),
      wake,
      pid: process_id(),
      keys: Keys::new(&config.key),
      config,
    });
    let (tx, rx) = mpsc::channel();
    let thread_shared = Arc::clone(&shared);
    let spawned = std::thread::Builder::new().name("async-shape-fleet".into()).spawn(move || {
      let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
      match runtime {
        Ok(rt) => rt.block_on(run(&thread_shared, endpoint)),
        Err(e) => {
          thread_shared.update(|l| l.fatal(format!("async-shape: could not start the fleet runtime: {e}")));
        }
      }
      thread_shared.update(|l| l.stopped());
      let _ = tx.send(());
    });
    if let Err(e) = spawned {
      return Err(ConfigError::Url(format!("could not start the fleet thread: {e}")));
    }
    Ok(Fleet { shared, done: Mutex::new(Some(rx)) })
  }

  /// The ledger, locked (the JS thread's short steps).
  pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
    self.shared.ledger()
  }

  /// Tells the runtime thread the ledger has something new for Redis: the next call goes now.
  pub fn poke(&self) {
    self.shared.held_back.store(false, Ordering::Release);
    self.shared.notify.notify_one();
  }

  /// Tells the runtime thread that news is coming (the JS thread's loop phase is not over): the
  /// next call waits for the `poke` that ends the phase, at most [`HOLD_BACK`], so that the
  /// phase's changes go together.
  pub fn hold_back(&self) {
    self.shared.held_back.store(true, Ordering::Release);
    self.shared.notify.notify_one();
  }

  /// This process's id in the fleet.
  pub fn pid(&self) -> &str {
    &self.shared.pid
  }

  /// Starts closing: permits go back and the process unregisters; the ledger says when it is
  /// done (`is_closed`, and a wake-up).
  pub fn close(&self) {
    if self.ledger().close() {
      self.poke();
    }
    self.poke();
  }

  /// Closes and waits for the runtime thread to stop, at most `bound`. True when it stopped.
  pub fn shutdown(&self, bound: Duration) -> bool {
    self.close();
    let rx = self.done.lock().unwrap_or_else(|e| e.into_inner()).take();
    match rx {
      Some(rx) => rx.recv_timeout(bound).is_ok(),
      None => true,
    }
  }
}

impl Drop for Fleet {
  fn drop(&mut self) {
    self.close();
  }
}

enum End {
  Closed,
  Lost(String),
  Fatal(String),
}

async fn run(sh: &Shared, endpoint: Endpoint) {
  let started = Instant::now();
  let timeout = sh.config.connect_timeout;
  let mut attempt = 0u32;
  loop {
    if sh.ledger().is_closing() {
      return;
    }
    let connected = with_ticks(sh, tokio::time::timeout(timeout, connect(sh, &endpoint))).await;
    let end = match connected {
      Ok(Ok((con, sha, stream, driver))) => {
        attempt = 0;
        let end = session(sh, con, sha, stream).await;
        drop(driver);
        end
      }
      Ok(Err(e)) if permanent(&e) => End::Fatal(sh.describe(&e)),
      Ok(Err(e)) => End::Lost(sh.describe(&e)),
      Err(_) => End::Lost(format!(
        "async-shape: Redis at {}: no connection within {} ms",
        redacted(&sh.config.url),
        timeout.as_millis()
      )),
    };
    let last_cause = match end {
      End::Closed => return,
      End::Fatal(message) => {
        sh.update(|l| l.fatal(message));
        // Nothing more to do but wait for close() (or the env's end).
        while !sh.ledger().is_closing() {
          sh.notify.notified().await;
        }
        return;
      }
      End::Lost(cause) => {
        sh.update(|l| l.store_down(&cause));
        cause
      }
    };
    let delay = backoff(attempt, random_unit());
    attempt = attempt.saturating_add(1);
    let until = Instant::now() + delay;
    // Wait out the backoff; meanwhile the lease may run out (fence), close() may come, and
    // ready() gives up after the connect timeout.
    loop {
      if sh.ledger().is_closing() {
        return;
      }
      if started.elapsed() >= timeout {
        let message = format!("{last_cause} (no connection within {} ms)", timeout.as_millis());
        sh.update(|l| l.connect_timed_out(message));
      }
      let now = Instant::now();
      if now >= until {
        break;
      }
      let tick = tick_at(sh, now);
      let ready_at = (started + timeout).max(now);
      let wake_at = [Some(until), tick, (started.elapsed() < timeout).then_some(ready_at)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(until);
      tokio::select! {
        _ = sh.notify.notified() => {}
        _ = tokio::time::sleep_until(wake_at) => {}
      }
      sh.update(|l| l.tick(now_ns()));
    }
  }
}

/// When the ledger's timers (lease deadline, linger) next have something to do, if ever.
fn tick_at(sh: &Shared, now: Instant) -> Option<Instant> {
  sh.ledger().next_tick().map(|t| now + Duration::from_nanos(t.saturating_sub(now_ns())))
}

/// Awaits `work` while the ledger's timers (lease deadline, linger) keep running: a connection
/// or a call that hangs (a stopped server) must not delay fencing.
async fn with_ticks<F: std::future::Future>(sh: &Shared, work: F) -> F::Output {
  let mut work = std::pin::pin!(work);
  loop {
    let now = Instant::now();
    let tick = tick_at(sh, now);
    let wake_at = tick.unwrap_or(now + Duration::from_secs(3600));
    tokio::select! {
      output = &mut work => return output,
      _ = tokio::time::sleep_until(wake_at) => sh.update(|l| l.tick(now_ns())),
    }
  }
}

async fn connect(
  sh: &Shared,
  endpoint: &Endpoint,
) -> redis::RedisResult<(redis::aio::MultiplexedConnection, String, redis::aio::PubSubStream, Driver)> {
  let lease = Duration::from_nanos(sh.config.settings.lease_ns);
  let response = (lease / 2).clamp(Duration::from_millis(200), Duration::from_secs(5));
  let config = redis::AsyncConnectionConfig::new()
    .set_connection_timeout(Some(sh.config.connect_timeout))
    .set_response_timeout(Some(response));
  let client = &endpoint.client;
  let (mut con, mut pubsub, driver) = match &endpoint.tls {
    None => {
      let con = client.get_multiplexed_async_connection_with_config(&config).await?;
      (con, client.get_async_pubsub().await?, Driver(None))
    }
    Some(tls) => {
      // The same handshake (AUTH with the URL's user and password, SELECT) over TLS streams.
      let settings = client.get_connection_info().redis_settings();
      let (con, driver) =
        redis::aio::MultiplexedConnection::new_with_config(settings, tls_stream(tls).await?, config).await?;
      let driver = Driver(Some(tokio::spawn(driver)));
      (con, redis::aio::PubSub::new(settings, tls_stream(tls).await?).await?, driver)
    }
  };
  let sha = load(&mut con).await?;
  pubsub.subscribe(&sh.keys.channel).await?;
  Ok((con, sha, pubsub.into_on_message(), driver))
}

async fn load(con: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<String> {
  redis::cmd("SCRIPT").arg("LOAD").arg(SYNC_LUA).query_async(con).await
}

/// One script call: `EVALSHA`, and on `NOSCRIPT` (Redis restarted, or `SCRIPT FLUSH`) load it
/// again and retry once.
async fn call(
  sh: &Shared,
  con: &mut redis::aio::MultiplexedConnection,
  sha: &mut String,
  request: &Request,
) -> redis::RedisResult<Reply> {
  let settings = &sh.config.settings;
  let lease_ms = (settings.lease_ns / 1_000_000).max(1);
  for retry in [false, true] {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(sha.as_str()).arg(sh.keys.keys.len());
    for k in &sh.keys.keys {
      cmd.arg(k);
    }
    cmd
      .arg(&sh.pid)
      .arg(settings.limit)
      .arg(lease_ms)
      .arg(request.release)
      .arg(request.want)
      .arg(request.priority)
      .arg(u8::from(request.requeue))
      .arg(u8::from(request.leave))
      .arg(&sh.keys.channel)
      .arg(u8::from(request.count));
    match cmd.query_async::<Vec<i64>>(con).await {
      Ok(v) => {
        return Reply::parse(&v)
          .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "the fleet script's reply")))
      }
      Err(e) if !retry && e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
        *sha = load(con).await?;
      }
      Err(e) => return Err(e),
    }
  }
  unreachable!("the loop returns")
}

/// The subscription closed under the session.
fn unsubscribed(sh: &Shared) -> End {
  End::Lost(format!("async-shape: Redis at {}: the subscription closed", redacted(&sh.config.url)))
}

async fn session(
  sh: &Shared,
  mut con: redis::aio::MultiplexedConnection,
  mut sha: String,
  mut stream: redis::aio::PubSubStream,
) -> End {
  let lease = Duration::from_nanos(sh.config.settings.lease_ns);
  let interval = (lease / 3).max(Duration::from_millis(1));
  let mut heartbeat_at = Instant::now();
  loop {
    let due = Instant::now() >= heartbeat_at;
    let renew = due && {
      let alive = sh.ledger().js_recent(now_ns());
      if !alive {
        // The JS thread has not run for half a lease: no renewal (its lease runs out and it
        // fences); ask it to show up, and look again soon.
        heartbeat_at = Instant::now() + interval / 4;
        (sh.wake)();
      }
      alive
    };
    if sh.held_back.load(Ordering::Acquire) {
      // The JS thread's phase is not over: its end brings the rest of the news (a poke clears
      // the flag). Grant messages are read meanwhile; the timers wait that long.
      let until = Instant::now() + HOLD_BACK;
      while sh.held_back.load(Ordering::Acquire) {
        match wait(sh, &mut stream, until).await {
          None => return unsubscribed(sh),
          // A hold-back made since is dropped too: its change goes in this call.
          Some(Woke::Deadline) => sh.held_back.store(false, Ordering::Release),
          Some(Woke::Early) => {}
        }
      }
    }
    let request = sh.ledger().take_request(renew);
    if let Some(request) = request {
      let sent = now_ns();
      let sent_at = Instant::now();
      // One call in flight. Grant messages are read meanwhile (under a live lease a grant does not
      // wait for this reply: that wait was part of the hand-off), and the ledger's timers keep
      // running.
      let reading = async {
        let mut work = std::pin::pin!(call(sh, &mut con, &mut sha, &request));
        loop {
          tokio::select! {
            output = &mut work => return Some(output),
            message = stream.next() => match message {
              Some(m) => on_message(sh, &m),
              None => return None,
            },
          }
        }
      };
      let outcome = with_ticks(sh, reading).await;
      match outcome {
        Some(Ok(reply)) => {
          heartbeat_at = sent_at + interval;
          sh.update(|l| l.on_reply(&request, &reply, sent, now_ns()));
          if request.leave {
            return End::Closed;
          }
          // Ask JS to show it is alive once per heartbeat.
          if renew {
            (sh.wake)();
          }
          continue;
        }
        Some(Err(e)) => {
          sh.ledger().request_failed(&request);
          if request.leave {
            return End::Closed;
          }
          return if permanent(&e) { End::Fatal(sh.describe(&e)) } else { End::Lost(sh.describe(&e)) };
        }
        None => {
          sh.ledger().request_failed(&request);
          // Closing: the process leaves whatever happens (its lease runs out if the leave was
          // lost); a closed subscription then is no outage to report.
          return if request.leave { End::Closed } else { unsubscribed(sh) };
        }
      }
    }
    let now = Instant::now();
    let tick = tick_at(sh, now);
    let wake_at = tick.map_or(heartbeat_at, |t| t.min(heartbeat_at));
    match wait(sh, &mut stream, wake_at).await {
      None => return unsubscribed(sh),
      Some(Woke::Deadline) => sh.update(|l| l.tick(now_ns())),
      Some(Woke::Early) => {}
    }
  }
}

/// What ended a session's [`wait`].
enum Woke {
  /// A poke, or a message (applied to the ledger).
  Early,
  Deadline,
}

/// Waits between calls for a poke, a grant message (applied to the ledger) or `until`; None when
/// the subscription closed.
async fn wait(sh: &Shared, stream: &mut redis::aio::PubSubStream, until: Instant) -> Option<Woke> {
  tokio::select! {
    _ = sh.notify.notified() => Some(Woke::Early),
    message = stream.next() => {
      on_message(sh, &message?);
      Some(Woke::Early)
    }
    _ = tokio::time::sleep_until(until) => Some(Woke::Deadline),
  }
}

/// Applies a message of the limiter's channel to the ledger (a malformed one is ignored).
fn on_message(sh: &Shared, m: &redis::Msg) {
  if let Some(message) = std::str::from_utf8(m.get_payload_bytes()).ok().and_then(Message::parse) {
    sh.update(|l| l.on_message(&message, &sh.pid, now_ns()));
  }
}

/// The ledger's readiness, for tests.
pub fn is_ready(fleet: &Fleet) -> Readiness {
  fleet.ledger().readiness().clone()
}
