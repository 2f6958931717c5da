//! The fleet against a real `redis-server` (Debian's package; `.ci/run` installs it): each test
//! starts its own on a free loopback port with a temporary directory and no persistence, and
//! stops it. Several "processes" are threads, each with its own client and a local scheduler
//! that follows the binding's rules (start while `cap()` allows, give a freed permit back when
//! `reuse(now)` says others wait). Bounded in time; no assertion on timing except wide bounds.

use super::client::{Config, Fleet};
use super::ledger::{Readiness, Settings};
use super::protocol::{Keys, Reply, SYNC_LUA};
use super::wire;
use crate::now_ns;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Server {
  child: Option<Child>,
  pub port: u16,
  dir: PathBuf,
  password: Option<String>,
  /// With TLS: the TLS port (the plain one stays, for the tests' own connections).
  pub tls_port: Option<u16>,
}

fn free_port() -> u16 {
  let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
  l.local_addr().unwrap().port()
}

impl Server {
  pub fn start(password: Option<&str>) -> Server {
    let dir = std::env::temp_dir().join(format!("async-shape-redis-{}-{}", std::process::id(), now_ns()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = Server { child: None, port: free_port(), dir, password: password.map(String::from), tls_port: None };
    s.spawn();
    s
  }

  /// A server with a TLS port too, its certificate for 127.0.0.1 signed by a throwaway CA made
  /// with the `openssl` CLI; returns it and the CA's PEM.
  pub fn start_tls() -> (Server, String) {
    let dir = std::env::temp_dir().join(format!("async-shape-redis-tls-{}-{}", std::process::id(), now_ns()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_certificates(&dir, "async-shape core test CA");
    let mut s = Server { child: None, port: free_port(), dir, password: None, tls_port: Some(free_port()) };
    s.spawn();
    (s, ca)
  }

  fn spawn(&mut self) {
    let mut cmd = Command::new("redis-server");
    cmd
      .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
      .arg("--dir")
      .arg(&self.dir)
      .stdout(Stdio::null())
      .stderr(Stdio::null());
    if let Some(p) = &self.password {
      cmd.args(["--requirepass", p]);
    }
    if let Some(port) = self.tls_port {
      cmd.args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"]);
      for (flag, file) in
        [("--tls-cert-file", "server.pem"), ("--tls-key-file", "server.key"), ("--tls-ca-cert-file", "ca.pem")]
      {
        cmd.arg(flag).arg(self.dir.join(file));
      }
    }
    let child = cmd.spawn().expect("redis-server must be installed (apt-get install -y redis-server)");
    self.child = Some(child);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
      assert!(Instant::now() < until, "redis-server did not listen within 10 s");
      std::thread::sleep(Duration::from_millis(10));
    }
  }

  pub fn url(&self) -> String {
    format!("redis://127.0.0.1:{}", self.port)
  }

  pub fn kill(&mut self) {
    if let Some(mut c) = self.child.take() {
      let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).status();
      let _ = c.kill();
      let _ = c.wait();
    }
  }

  /// Sends `signal` (`STOP`, `CONT`) to the server.
  pub fn signal(&self, signal: &str) {
    let pid = self.child.as_ref().expect("running").id();
    let ok = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -{signal}");
  }

  /// Stops it and starts a fresh one (no state) on the same port.
  pub fn restart(&mut self) {
    self.kill();
    self.spawn();
  }

  pub fn connection(&self) -> redis::Connection {
    redis::Client::open(self.url()).unwrap().get_connection().unwrap()
  }
}

impl Drop for Server {
  fn drop(&mut self) {
    self.kill();
    let _ = std::fs::remove_dir_all(&self.dir);
  }
}

/// A CA named `name` and a server certificate for IP 127.0.0.1 it signed, in `dir` (`ca.pem`,
/// `server.pem`, `server.key`), by the `openssl` CLI. Returns the CA's PEM.
pub fn make_certificates(dir: &std::path::Path, name: &str) -> String {
  let openssl = |args: &[&str]| {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl CLI");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
  };
  let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  let subject = format!("/CN={name}");
  let ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"];
  openssl(
    &[
      &["req", "-x509"],
      &ec[..],
      &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", &subject],
      &ca_ext[..],
    ]
    .concat(),
  );
  openssl(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat());
  std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
  openssl(&[
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ]);
  std::fs::read_to_string(dir.join("ca.pem")).unwrap()
}

pub fn settings(limit: u32, lease_ms: u64) -> Settings {
  Settings {
    limit,
    lease_ns: lease_ms * 1_000_000,
    on_store_down: wire::STORE_DOWN_WAIT,
    local_concurrency: 1,
    linger_ns: 20_000_000,
    quantum_ns: 0,
  }
}

pub fn config(url: &str, key: &str, settings: Settings) -> Config {
  Config { url: url.into(), key: key.into(), settings, connect_timeout: Duration::from_secs(5), tls: None }
}

/// A wake-up flag the runtime thread sets and a simulated JS thread waits on.
#[derive(Default)]
pub struct Signal {
  flag: Mutex<bool>,
  cond: Condvar,
}

impl Signal {
  pub fn wake(&self) {
    *self.flag.lock().unwrap() = true;
    self.cond.notify_all();
  }
  pub fn wait(&self, at_most: Duration) {
    let guard = self.flag.lock().unwrap();
    let (mut guard, _) = self.cond.wait_timeout_while(guard, at_most, |woken| !*woken).unwrap();
    *guard = false;
  }
}

pub fn start(config: Config) -> (Fleet, Arc<Signal>) {
  let signal = Arc::new(Signal::default());
  let s = Arc::clone(&signal);
  let fleet = Fleet::start(config, Box::new(move || s.wake())).expect("a valid config");
  (fleet, signal)
}

/// The fleet-wide count of tasks in flight and its maximum.
#[derive(Default)]
pub struct Gauge {
  now: AtomicI64,
  pub max: AtomicI64,
  pub started: AtomicU64,
}

impl Gauge {
  fn enter(&self) {
    let v = self.now.fetch_add(1, Ordering::SeqCst) + 1;
    self.max.fetch_max(v, Ordering::SeqCst);
    self.started.fetch_add(1, Ordering::SeqCst);
  }
  fn leave(&self) {
    self.now.fetch_sub(1, Ordering::SeqCst);
  }
}

/// A simulated process: runs `durations.len()` tasks (each `durations[i]` µs) under the fleet
/// limit, following the binding's rules. Returns the instants its tasks started (for order
/// checks) once all ran.
pub fn simulate(fleet: &Fleet, signal: &Signal, durations: &[u64], gauge: &Gauge, bound: Duration) -> Vec<Instant> {
  let deadline = Instant::now() + bound;
  let mut running: Vec<Instant> = Vec::new();
  let mut next = 0usize;
  let mut starts = Vec::new();
  loop {
    let now = Instant::now();
    assert!(now < deadline, "a simulated process did not finish its tasks in time");
    let mut poke = false;
    {
      let mut l = fleet.ledger();
      let mut i = 0;
      while i < running.len() {
        if running[i] <= now {
          running.swap_remove(i);
          gauge.leave();
          if !l.reuse(now_ns()) && l.cap() > running.len() as u32 {
            poke |= l.returned(1);
          }
        } else {
          i += 1;
        }
      }
      let cap = l.cap();
      while (running.len() as u32) < cap && next < durations.len() {
        gauge.enter();
        starts.push(now);
        running.push(now + Duration::from_micros(durations[next]));
        next += 1;
      }
      poke |= l.local(running.len() as u32, (durations.len() - next) as u32, 0, now_ns());
    }
    if poke {
      fleet.poke();
    }
    if next == durations.len() && running.is_empty() {
      return starts;
    }
    let until = running.iter().min().copied().unwrap_or(now + Duration::from_millis(50));
    signal.wait(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
  }
}

/// The simulated JS thread's turn: wait for a wake-up (or 20 ms), and show it is alive.
fn pump(fleet: &Fleet, signal: &Signal) {
  signal.wait(Duration::from_millis(20));
  fleet.ledger().js_alive(now_ns());
}

fn pseudo_random(seed: &mut u64) -> u64 {
  *seed ^= *seed << 13;
  *seed ^= *seed >> 7;
  *seed ^= *seed << 17;
  *seed
}

fn wait_for(what: &str, bound: Duration, mut f: impl FnMut() -> bool) {
  let until = Instant::now() + bound;
  while !f() {
    assert!(Instant::now() < until, "{what}: not within {bound:?}");
    std::thread::sleep(Duration::from_millis(5));
  }
}

#[test]
fn grants_never_exceed_the_limit_with_several_clients_contending() {
  let server = Server::start(None);
  let gauge = Arc::new(Gauge::default());
  let url = server.url();
  let threads: Vec<_> = (0..4u64)
    .map(|p| {
      let (gauge, url) = (Arc::clone(&gauge), url.clone());
      std::thread::spawn(move || {
        let (fleet, signal) = start(config(&url, "contend", settings(8, 5000)));
        let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (p + 1);
        let durations: Vec<u64> = (0..300).map(|_| pseudo_random(&mut seed) % 2000).collect();
        simulate(&fleet, &signal, &durations, &gauge, Duration::from_secs(60));
        assert!(fleet.shutdown(Duration::from_secs(2)), "closed within the bound");
        let counters = fleet.ledger().counters();
        counters
      })
    })
    .collect();
  let counters: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
  assert_eq!(gauge.started.load(Ordering::SeqCst), 1200);
  let max = gauge.max.load(Ordering::SeqCst);
  assert!(max <= 8, "at most 8 in flight across the fleet, saw {max}");
  assert!(max >= 2, "the fleet ran tasks side by side ({max})");
  for c in &counters {
    assert!(c.grants > 0, "every process got permits: {counters:?}");
  }
  // Everything went back: nothing held, nobody queued.
  let mut con = server.connection();
  let used: Option<u32> = redis::cmd("HGET").arg(&Keys::new("contend").keys[4]).arg("used").query(&mut con).unwrap();
  assert_eq!(used, Some(0));
}

fn script(con: &mut redis::Connection, key: &str, pid: &str, limit: u32, release: u32, want: u32, prio: i32) -> Reply {
  let keys = Keys::new(key);
  let v: Vec<i64> = redis::cmd("EVAL")
    .arg(SYNC_LUA)
    .arg(5)
    .arg(&keys.keys)
    .arg(pid)
    .arg(limit)
    .arg(60_000)
    .arg(release)
    .arg(want)
    .arg(prio)
    .arg(0)
    .arg(0)
    .arg(&keys.channel)
    .arg(1)
    .query(con)
    .unwrap();
  Reply::parse(&v).unwrap()
}

#[test]
fn grants_follow_priority_then_ticket() {
  let server = Server::start(None);
  let mut con = server.connection();
  let held = |con: &mut redis::Connection, pid: &str| -> u32 {
    redis::cmd("HGET").arg(&Keys::new("order").keys[1]).arg(pid).query::<Option<u32>>(con).unwrap().unwrap_or(0)
  };
  assert_eq!(script(&mut con, "order", "a", 1, 0, 1, 0).held, 1, "a takes the only permit");
  for (pid, prio) in [("b", 0), ("c", 0), ("d", 5), ("e", -1), ("f", 5)] {
    let r = script(&mut con, "order", pid, 1, 0, 1, prio);
    assert_eq!((r.held, r.queued), (0, true), "{pid} waits");
  }
  // Each holder in turn gives its permit back: it goes to the head of the queue.
  let mut order = vec![];
  let mut holder = "a".to_string();
  for _ in 0..5 {
    script(&mut con, "order", &holder, 1, 1, 0, 0);
    let next = ["b", "c", "d", "e", "f"].into_iter().find(|p| held(&mut con, p) == 1).expect("someone got it");
    order.push(next);
    holder = next.to_string();
  }
  assert_eq!(order, ["d", "f", "b", "c", "e"], "priority first, then ticket");
}

#[test]
fn a_dead_holders_permits_return_within_the_ttl() {
  let server = Server::start(None);
  // A "process" takes all 3 permits with a 300 ms lease, then dies (never renews).
  let mut con = server.connection();
  let keys = Keys::new("expiry");
  let v: Vec<i64> = redis::cmd("EVAL")
    .arg(SYNC_LUA)
    .arg(5)
    .arg(&keys.keys)
    .arg("dead")
    .arg(3)
    .arg(300)
    .arg(0)
    .arg(3)
    .arg(0)
    .arg(0)
    .arg(0)
    .arg(&keys.channel)
    .arg(1)
    .query(&mut con)
    .unwrap();
  assert_eq!(Reply::parse(&v).unwrap().held, 3);
  let t0 = Instant::now();
  let (fleet, signal) = start(config(&server.url(), "expiry", settings(3, 300)));
  fleet.ledger().local(0, 3, 0, now_ns());
  fleet.poke();
  wait_for("the dead holder's permits", Duration::from_secs(5), || {
    pump(&fleet, &signal);
    fleet.ledger().cap() == 3
  });
  let waited = t0.elapsed();
  assert!(waited >= Duration::from_millis(150), "not before the lease ran out ({waited:?})");
  assert!(waited < Duration::from_secs(3), "within the TTL and a heartbeat, wide margin ({waited:?})");
}

#[test]
fn a_restart_without_state_converges_again() {
  let mut server = Server::start(None);
  let (fleet, signal) = start(config(&server.url(), "restart", settings(4, 600)));
  fleet.ledger().local(0, 4, 0, now_ns());
  fleet.poke();
  wait_for("the first grant", Duration::from_secs(5), || {
    pump(&fleet, &signal);
    fleet.ledger().cap() == 4
  });
  fleet.ledger().local(4, 0, 0, now_ns());
  server.restart();
  // It notices (the subscription closes), reconnects, finds itself forgotten: fenced, then
  // registered again; the tasks that still want permits get them in the new state.
  let mut kinds = vec![];
  wait_for("recovery", Duration::from_secs(10), || {
    signal.wait(Duration::from_millis(20));
    let mut l = fleet.ledger();
    l.js_alive(now_ns());
    kinds.extend(l.take_events().into_iter().map(|e| e.0));
    kinds.contains(&wire::EVENT_LEASE_REGAINED)
  });
  assert!(kinds.contains(&wire::EVENT_STORE_DOWN), "{kinds:?}");
  assert!(kinds.contains(&wire::EVENT_LEASE_LOST), "{kinds:?}");
  // Its 4 tasks still run (JS aborted their signals): it asks the new state for permits that
  // cover them, and starts nothing new until it holds more than it runs.
  fleet.ledger().local(4, 4, 0, now_ns());
  fleet.poke();
  wait_for("permits in the new state", Duration::from_secs(5), || {
    pump(&fleet, &signal);
    fleet.ledger().cap() == 4
  });
  let mut con = server.connection();
  let used: Option<u32> = redis::cmd("HGET").arg(&Keys::new("restart").keys[4]).arg("used").query(&mut con).unwrap();
  assert_eq!(used, Some(4));
}

#[test]
fn a_server_that_stops_answering_fences_its_holders_and_they_recover() {
  let server = Server::start(None);
  let (fleet, signal) = start(config(&server.url(), "sigstop", settings(3, 600)));
  fleet.ledger().local(0, 3, 0, now_ns());
  fleet.poke();
  wait_for("the first grant", Duration::from_secs(5), || {
    pump(&fleet, &signal);
    fleet.ledger().cap() == 3
  });
  fleet.ledger().local(3, 0, 0, now_ns());
  server.signal("STOP");
  // No renewal gets through: past the lease (less its margin) it starts nothing.
  let mut kinds = vec![];
  wait_for("fencing", Duration::from_secs(5), || {
    pump(&fleet, &signal);
    kinds.extend(fleet.ledger().take_events().into_iter().map(|e| e.0));
    fleet.ledger().cap() == 0
  });
  let stopped = Instant::now();
  server.signal("CONT");
  wait_for("recovery", Duration::from_secs(10), || {
    pump(&fleet, &signal);
    kinds.extend(fleet.ledger().take_events().into_iter().map(|e| e.0));
    kinds.contains(&wire::EVENT_LEASE_REGAINED) && fleet.ledger().cap() == 3
  });
  assert!(stopped.elapsed() < Duration::from_secs(10));
  for kind in [wire::EVENT_STORE_DOWN, wire::EVENT_LEASE_LOST, wire::EVENT_STORE_UP, wire::EVENT_LEASE_REGAINED] {
    assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
  }
  // Redis still counts exactly what it granted: 3 (re-registered, the old lease reaped).
  let mut con = server.connection();
  let used: Option<u32> = redis::cmd("HGET").arg(&Keys::new("sigstop").keys[4]).arg("used").query(&mut con).unwrap();
  assert_eq!(used, Some(3));
}

#[test]
fn a_wrong_password_is_a_permanent_error() {
  let server = Server::start(Some("s3cret"));
  for (url, code) in [(format!("redis://:wrong@127.0.0.1:{}", server.port), "WRONGPASS"), (server.url(), "NOAUTH")] {
    let (fleet, signal) = start(config(&url, "auth", settings(2, 1000)));
    wait_for("the failure", Duration::from_secs(8), || {
      signal.wait(Duration::from_millis(20));
      !matches!(fleet.ledger().readiness(), Readiness::Pending)
    });
    let readiness = fleet.ledger().readiness().clone();
    let Readiness::Failed(message) = readiness else { panic!("{readiness:?}") };
    assert!(message.contains(code) || message.to_lowercase().contains("auth"), "{message}");
    assert!(!message.contains("wrong@"), "the password is not in the message: {message}");
    let events = fleet.ledger().take_events();
    assert_eq!(events.first().map(|e| e.0), Some(wire::EVENT_FATAL), "{events:?}");
    assert!(fleet.shutdown(Duration::from_secs(1)));
  }
  // The right one works.
  let (fleet, signal) = start(config(&format!("redis://:s3cret@127.0.0.1:{}", server.port), "auth", settings(2, 1000)));
  wait_for("ready", Duration::from_secs(5), || {
    signal.wait(Duration::from_millis(20));
    fleet.ledger().readiness() == &Readiness::Ready
  });
}

#[test]
fn an_unreachable_server_is_a_timeout_error() {
  let port = free_port();
  let mut c = config(&format!("redis://127.0.0.1:{port}"), "nobody", settings(2, 1000));
  c.connect_timeout = Duration::from_millis(400);
  let (fleet, signal) = start(c);
  wait_for("the timeout", Duration::from_secs(5), || {
    signal.wait(Duration::from_millis(20));
    !matches!(fleet.ledger().readiness(), Readiness::Pending)
  });
  let Readiness::Failed(message) = fleet.ledger().readiness().clone() else { panic!() };
  assert!(message.contains("no connection within 400 ms"), "{message}");
  assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
  assert!(fleet.shutdown(Duration::from_millis(500)), "close does not hang");
}

#[test]
fn bad_urls_are_refused_before_anything_starts() {
  use super::client::{check, ConfigError, Tls};
  for url in ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://[::1", "rediss://h#insecure"] {
    let r = Fleet::start(config(url, "k", settings(1, 1000)), Box::new(|| {}));
    assert!(r.is_err(), "{url}");
  }
  // TLS: rediss:// is taken, with or without options; options only with rediss://; a `ca`
  // must hold a certificate.
  assert!(check("rediss://h", None).is_ok());
  assert!(check("rediss://u:p@h:6380/2", Some(&Tls::default())).is_ok());
  assert!(check("rediss://h", Some(&Tls { ca: None, reject_unauthorized: false })).is_ok());
  assert!(matches!(check("redis://h", Some(&Tls::default())), Err(ConfigError::Tls(_))));
  let tls = |ca: &str| Tls { ca: Some(ca.into()), reject_unauthorized: true };
  let Err(ConfigError::Ca(m)) = check("rediss://h", Some(&tls("no pem here"))) else { panic!() };
  assert!(m.contains("no PEM certificate"), "{m}");
  let bad = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  assert!(matches!(check("rediss://h", Some(&tls(bad))), Err(ConfigError::Ca(_))));
}

#[test]
fn rediss_with_the_servers_ca_registers_and_a_foreign_ca_fails_at_once_naming_tls() {
  use super::client::Tls;
  let (server, ca) = Server::start_tls();
  let url = format!("rediss://127.0.0.1:{}", server.tls_port.unwrap());
  let with = |ca: &str| {
    let mut c = config(&url, "tls", settings(2, 2000));
    c.tls = Some(Tls { ca: Some(ca.into()), reject_unauthorized: true });
    start(c)
  };
  let settled = |fleet: &Fleet, signal: &Signal| {
    wait_for("ready or failed", Duration::from_secs(10), || {
      signal.wait(Duration::from_millis(20));
      !matches!(fleet.ledger().readiness(), Readiness::Pending)
    });
    fleet.ledger().readiness().clone()
  };
  let (fleet, signal) = with(&ca);
  assert!(matches!(settled(&fleet, &signal), Readiness::Ready), "registered over TLS");
  let mut con = server.connection();
  let holders: u64 = redis::cmd("ZCARD").arg("async-shape:{tls}:holders").query(&mut con).unwrap();
  assert_eq!(holders, 1, "the script ran over the TLS connection");
  assert!(fleet.shutdown(Duration::from_secs(2)));

  let other_dir = std::env::temp_dir().join(format!("async-shape-other-ca-{}-{}", std::process::id(), now_ns()));
  std::fs::create_dir_all(&other_dir).unwrap();
  let other = make_certificates(&other_dir, "another CA");
  let _ = std::fs::remove_dir_all(&other_dir);
  let (fleet, signal) = with(&other);
  let Readiness::Failed(message) = settled(&fleet, &signal) else { panic!("a foreign CA must fail") };
  assert!(message.contains("TLS handshake failed") && message.contains("UnknownIssuer"), "{message}");
  assert!(message.contains(&url), "{message}");
  assert!(!message.contains("no connection within"), "permanent, not retried until the timeout: {message}");
  assert!(fleet.shutdown(Duration::from_secs(2)));
}

/// The sum of `calls` over `INFO commandstats`, and the calls of `evalsha`.
fn command_calls(con: &mut redis::Connection) -> (u64, u64) {
  let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
  let (mut all, mut evalsha) = (0, 0);
  for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
    let calls: u64 =
      line.split("calls=").nth(1).and_then(|r| r.split(',').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    all += calls;
    if line.starts_with("cmdstat_evalsha:") {
      evalsha += calls;
    }
  }
  (all, evalsha)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
  sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Measures, from Rust alone: Redis commands per task at saturation (4 processes, limit 32,
/// tasks of 1 ms) and the hand-off latency between two processes (limit 1). Prints the
/// numbers; asserts only the limit. Run with `cargo test -p async-shape-core --release
/// measure_fleet -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_fleet() {
  let server = Server::start(None);
  let mut con = server.connection();
  // Saturation.
  let (all0, eval0) = command_calls(&mut con);
  let gauge = Arc::new(Gauge::default());
  let t0 = Instant::now();
  let per = 3000usize;
  let threads: Vec<_> = (0..4)
    .map(|_| {
      let (gauge, url) = (Arc::clone(&gauge), server.url());
      std::thread::spawn(move || {
        let (fleet, signal) = start(config(&url, "saturate", settings(32, 5000)));
        simulate(&fleet, &signal, &vec![1000; per], &gauge, Duration::from_secs(120));
        fleet.shutdown(Duration::from_secs(2));
      })
    })
    .collect();
  threads.into_iter().for_each(|t| t.join().unwrap());
  let elapsed = t0.elapsed();
  let (all1, eval1) = command_calls(&mut con);
  let tasks = (4 * per) as f64;
  println!(
    "saturation: {tasks} tasks of 1 ms, 4 processes, limit 32: {:.0} tasks/s, max in flight {}, \
     script calls (EVALSHA) per task {:.3}, all commands per task (INFO commandstats, calls inside \
     scripts included) {:.2}",
    tasks / elapsed.as_secs_f64(),
    gauge.max.load(Ordering::SeqCst),
    (eval1 - eval0) as f64 / tasks,
    (all1 - all0) as f64 / tasks,
  );
  assert!(gauge.max.load(Ordering::SeqCst) <= 32);

  // Hand-off: two processes, limit 1, each always wanting one more permit.
  let log: Arc<Mutex<Vec<(Instant, usize, bool)>>> = Arc::default();
  let rounds = 400;
  let threads: Vec<_> = (0..2)
    .map(|me| {
      let (log, url) = (Arc::clone(&log), server.url());
      std::thread::spawn(move || {
        let (fleet, signal) = start(config(&url, "handoff", settings(1, 5000)));
        let mut l = fleet.ledger();
        let poke = l.local(0, 1, 0, now_ns());
        drop(l);
        if poke {
          fleet.poke();
        }
        for _ in 0..rounds {
          let until = Instant::now() + Duration::from_secs(10);
          while fleet.ledger().cap() < 1 {
            assert!(Instant::now() < until, "no hand-off within 10 s");
            signal.wait(Duration::from_millis(5));
          }
          log.lock().unwrap().push((Instant::now(), me, true));
          std::thread::sleep(Duration::from_millis(1));
          let poke = {
            let mut l = fleet.ledger();
            let mut poke = false;
            if !l.reuse(now_ns()) {
              poke |= l.returned(1);
            }
            poke | l.local(0, 1, 0, now_ns())
          };
          log.lock().unwrap().push((Instant::now(), me, false));
          if poke {
            fleet.poke();
          }
        }
        fleet.shutdown(Duration::from_secs(2));
      })
    })
    .collect();
  threads.into_iter().for_each(|t| t.join().unwrap());
  let log = log.lock().unwrap();
  let mut latencies = vec![];
  for (i, &(at, who, start)) in log.iter().enumerate() {
    if !start {
      continue;
    }
    if let Some(&(released, _, _)) = log[..i].iter().rev().find(|&&(_, w, s)| w != who && !s) {
      latencies.push(at.duration_since(released));
    }
  }
  latencies.sort();
  println!(
    "hand-off (a release in one process to the start in the other, {} samples): p50 {:?}, p99 {:?}, max {:?}",
    latencies.len(),
    percentile(&latencies, 0.5),
    percentile(&latencies, 0.99),
    latencies.last().unwrap()
  );
}
