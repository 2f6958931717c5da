//! The permit/lease state machine of one process in a fleet: pure, no I/O, no clock of its own
//! (every method takes `now`, ns on [`crate::now_ns`]'s clock), testable without Redis.
//!
//! Two threads share one `Ledger` under a mutex, each for short steps:
//! - the JS thread (the pool binding) reads [`Ledger::cap`] before it starts tasks, reports the
//!   permits its scheduler gave back ([`Ledger::returned`]) and its demand ([`Ledger::local`]);
//! - the runtime thread (the Redis client) takes the next script call ([`Ledger::take_request`])
//!   and applies replies ([`Ledger::on_reply`]), grant messages ([`Ledger::on_message`]), lease
//!   expiry ([`Ledger::tick`]) and connection state.
//!
//! Safety rests on one rule: `held` (what local tasks may use) never exceeds what Redis counts
//! for this process. Only the JS thread lowers it in normal operation (before Redis hears of the
//! release: `unsent`), and the runtime raises it only by a grant Redis made. Replies are
//! absolute (`held = redis count - unsent + grants seen with a later seq`), so a missed or
//! duplicated message is reconciled by the next reply; `seq` (bumped by every script call) orders
//! replies and messages that arrive on two connections.

use crate::fleet::protocol::{Message, Reply, Request, PRIORITY_BIAS};
use crate::fleet::wire;

/// What the JS layer configures, validated.
#[derive(Clone, Debug)]
pub struct Settings {
  /// The fleet limit (every process of the fleet passes the same).
  pub limit: u32,
  /// The lease's time to live, ns.
  pub lease_ns: u64,
  /// `wire::STORE_DOWN_WAIT` or `wire::STORE_DOWN_LOCAL`.
  pub on_store_down: u32,
  /// The local limit while Redis is down under `STORE_DOWN_LOCAL`.
  pub local_concurrency: u32,
  /// How long idle permits are kept before they go back (when nobody else waits), ns.
  pub linger_ns: u64,
  /// How long a process may keep re-using its permits for its own queued tasks after another
  /// process started waiting (or after its own last grant, whichever is later), ns. 0: a freed
  /// permit goes back as soon as someone else waits.
  pub quantum_ns: u64,
}

/// How `ready()` stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
  Pending,
  Ready,
  Failed(String),
}

/// The ledger's counters, as `fleetStats()` reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
  pub grants: u64,
  pub returned: u64,
  pub round_trips: u64,
  pub max_wait_ns: u64,
  pub fenced: u64,
}

pub struct Ledger {
  pub settings: Settings,
  /// This process's tasks running and queued (as of the JS thread's last report).
  active: u32,
  pending: u32,
  /// The priority of the first queued local task.
  priority: i32,
  /// Permits local tasks may use.
  held: u32,
  /// Permits given back locally that Redis has not heard of yet.
  unsent: u32,
  /// The next call takes a new ticket.
  requeue: bool,
  /// `want` of the last request.
  asked: u32,
  /// Something to tell Redis (set by the JS thread; the runtime thread is poked on the rising
  /// edge only).
  dirty: bool,
  /// The latest state seen (reply or message), and grants seen with a later seq than the last
  /// reply.
  seq: u64,
  later: Vec<(u64, u32)>,
  /// The fleet as last seen.
  queue: u32,
  queued: bool,
  holders: u32,
  used: u32,
  store_up: bool,
  fenced: bool,
  /// The last reply came too late to vouch for the lease: nothing starts until the next one.
  stale: bool,
  readiness: Readiness,
  fatal: Option<String>,
  closing: bool,
  closed: bool,
  /// Monotonic ns past which the lease is not trusted any more (send time of the last renewal
  /// + lease - margin).
  lease_deadline: Option<u64>,
  /// When the JS thread last ran a callback (a stalled event loop must lose its lease).
  js_seen: u64,
  idle_since: Option<u64>,
  linger_signalled: bool,
  /// Since when this process may re-use freed permits although others wait (see
  /// `Settings::quantum_ns`): when it first saw someone else waiting, or its last grant.
  slice_start: u64,
  waiting_since: Option<u64>,
  events: Vec<(u32, Option<String>)>,
  counters: Counters,
}

impl Ledger {
  pub fn new(settings: Settings, now: u64) -> Ledger {
    Ledger {
      settings,
      active: 0,
      pending: 0,
      priority: 0,
      held: 0,
      unsent: 0,
      requeue: false,
      asked: 0,
      dirty: true,
      seq: 0,
      later: Vec::new(),
      queue: 0,
      queued: false,
      holders: 0,
      used: 0,
      store_up: false,
      fenced: false,
      stale: false,
      readiness: Readiness::Pending,
      fatal: None,
      closing: false,
      closed: false,
      lease_deadline: None,
      js_seen: now,
      idle_since: None,
      linger_signalled: false,
      slice_start: 0,
      waiting_since: None,
      events: Vec::new(),
      counters: Counters::default(),
    }
  }

  /// The margin kept before the lease's end (a tenth of it, at least 1 ms... at most 500 ms).
  fn margin(&self) -> u64 {
    (self.settings.lease_ns / 10).clamp(1_000_000, 500_000_000)
  }

  // ---- JS thread ----------------------------------------------------------------------------

  /// How many tasks may run locally now.
  pub fn cap(&self) -> u32 {
    if self.fatal.is_some() || self.closing {
      return 0;
    }
    if !self.store_up && self.settings.on_store_down == wire::STORE_DOWN_LOCAL {
      return self.settings.local_concurrency;
    }
    if self.fenced || self.stale {
      return 0;
    }
    self.held
  }

  /// How many tasks may start locally at `now`: [`Ledger::cap`], but nothing once the lease's
  /// local deadline has passed, even before the runtime thread's `tick` fences. A process that
  /// was frozen (SIGSTOP, a suspended VM) wakes with its JS timers and its lease both overdue,
  /// and its JS thread may run before the runtime thread does: the permits it held may belong to
  /// another process by then.
  pub fn cap_at(&self, now: u64) -> u32 {
    let cap = self.cap();
    let local = !self.store_up && self.settings.on_store_down == wire::STORE_DOWN_LOCAL;
    if !local && self.lease_deadline.is_some_and(|d| now >= d) {
      return 0;
    }
    cap
  }

  /// Whether other processes wait in the fleet queue.
  pub fn others_wait(&self) -> bool {
    self.queue > u32::from(self.queued)
  }

  /// Whether a freed permit may start the next local task at `now`: nobody else waits in the
  /// fleet queue, or this process's time slice (`quantum_ns` since it saw them waiting or was
  /// last granted permits) is not over; otherwise it goes back (fairness).
  pub fn reuse(&self, now: u64) -> bool {
    !self.others_wait() || now.saturating_sub(self.slice_start) < self.settings.quantum_ns
  }

  /// The fleet queue changed to `queue` entries (`queued`: this process among them).
  fn saw_queue(&mut self, queue: u32, queued: bool, now: u64) {
    let before = self.others_wait();
    self.queue = queue;
    self.queued = queued;
    if !before && self.others_wait() {
      self.slice_start = self.slice_start.max(now);
    }
  }

  /// The JS thread ran (a callback or a call): the event loop is alive.
  pub fn js_alive(&mut self, now: u64) {
    self.js_seen = now;
  }

  /// The local scheduler gave `n` permits back (they go to Redis with the next call).
  pub fn returned(&mut self, n: u32) -> bool {
    if n == 0 {
      return false;
    }
    let n = n.min(self.held);
    self.held -= n;
    self.unsent += n;
    self.counters.returned += u64::from(n);
    if self.pending > 0 {
      self.requeue = true;
    }
    self.mark_dirty()
  }

  fn mark_dirty(&mut self) -> bool {
    let rising = !self.dirty;
    self.dirty = true;
    rising
  }

  fn want(&self) -> u32 {
    if self.closing || self.fatal.is_some() {
      return 0;
    }
    self.active.saturating_add(self.pending).min(self.settings.limit)
  }

  /// The JS thread's demand after a step: `active` tasks running, `pending` queued, the first
  /// of them at `priority`. Gives idle permits back (at once when others wait, after the linger
  /// otherwise) and asks for more when the queue needs them. True when the runtime thread must
  /// be poked (something new to tell Redis).
  pub fn local(&mut self, active: u32, pending: u32, priority: i32, now: u64) -> bool {
    self.js_seen = now;
    self.active = active;
    self.pending = pending;
    self.priority = priority.clamp(1 - PRIORITY_BIAS, PRIORITY_BIAS - 1);
    let mut poke = false;
    if pending == 0 && self.held > active && !self.fenced {
      let since = *self.idle_since.get_or_insert(now);
      if self.others_wait() || now.saturating_sub(since) >= self.settings.linger_ns || self.closing {
        poke |= self.returned(self.held - active);
        self.idle_since = None;
        self.linger_signalled = false;
      }
    } else {
      self.idle_since = None;
      self.linger_signalled = false;
    }
    if pending > 0 && active >= self.cap_at(now) {
      self.waiting_since.get_or_insert(now);
    } else {
      self.waiting_since = None;
    }
    let want = self.want();
    let asking = want > self.held && want != self.asked;
    let withdrawing = want <= self.held && self.asked > self.held.max(want);
    if asking || withdrawing {
      poke |= self.mark_dirty();
    }
    poke
  }

  /// The events since the last call, oldest first.
  pub fn take_events(&mut self) -> Vec<(u32, Option<String>)> {
    std::mem::take(&mut self.events)
  }

  pub fn readiness(&self) -> &Readiness {
    &self.readiness
  }

  pub fn is_closed(&self) -> bool {
    self.closed
  }

  pub fn is_closing(&self) -> bool {
    self.closing
  }

  /// `close()`: give everything back and unregister. True when the runtime thread must be poked.
  pub fn close(&mut self) -> bool {
    if self.closing {
      return false;
    }
    self.closing = true;
    self.mark_dirty()
  }

  /// The permits local tasks may use, as `fleetStats()` shows.
  pub fn held(&self) -> u32 {
    self.held
  }

  /// `fleetStats()`, laid out as `wire::STAT_*` say.
  pub fn stats(&self, now: u64) -> [f64; wire::STAT_LEN] {
    let mut s = [0.0; wire::STAT_LEN];
    s[wire::STAT_LIMIT] = f64::from(self.settings.limit);
    s[wire::STAT_HELD] = f64::from(self.held);
    s[wire::STAT_HOLDERS] = f64::from(self.holders);
    s[wire::STAT_FLEET_IN_FLIGHT] = f64::from(self.used);
    s[wire::STAT_FLEET_QUEUE] = f64::from(self.queue);
    s[wire::STAT_STORE_UP] = f64::from(u8::from(self.store_up));
    s[wire::STAT_LEASE_REMAINING_MS] = match self.lease_deadline {
      Some(d) if !self.fenced => (d + self.margin()).saturating_sub(now) as f64 / 1e6,
      _ => 0.0,
    };
    s[wire::STAT_GRANTS] = self.counters.grants as f64;
    s[wire::STAT_ROUND_TRIPS] = self.counters.round_trips as f64;
    s[wire::STAT_MAX_WAIT_MS] = self.counters.max_wait_ns as f64 / 1e6;
    s[wire::STAT_FENCED] = self.counters.fenced as f64;
    s[wire::STAT_RETURNED] = self.counters.returned as f64;
    s[wire::STAT_READY] = f64::from(u8::from(self.readiness == Readiness::Ready));
    s
  }

  pub fn counters(&self) -> Counters {
    self.counters
  }

  // ---- runtime thread -----------------------------------------------------------------------

  /// The next script call: a pending change, or a heartbeat (`renew`), or nothing.
  pub fn take_request(&mut self, renew: bool) -> Option<Request> {
    if !self.dirty && !renew {
      return None;
    }
    self.dirty = false;
    let want = self.want();
    self.asked = want;
    let release = std::mem::take(&mut self.unsent);
    self.counters.round_trips += 1;
    Some(Request {
      release,
      want,
      priority: self.priority,
      requeue: std::mem::take(&mut self.requeue),
      leave: self.closing,
      count: renew,
    })
  }

  /// A call sent at `sent` failed before Redis answered: what it carried is sent again with the
  /// next one (a release Redis may have applied already only makes the next reply lower, never
  /// `held` higher than Redis's count).
  pub fn request_failed(&mut self, request: &Request) {
    self.requeue |= request.requeue;
    self.asked = 0;
    self.dirty = true;
  }

  /// Applies the script's reply to a call sent at `sent`. True when the JS thread must be woken
  /// (tasks can start, an event, `ready()` settled, or `close()` is done).
  pub fn on_reply(&mut self, request: &Request, reply: &Reply, sent: u64, now: u64) -> bool {
    let mut wake = false;
    if request.leave {
      self.held = 0;
      self.unsent = 0;
      self.closed = true;
      self.lease_deadline = None;
      self.used = reply.used;
      self.queue = reply.queue;
      self.queued = false;
      if let Some(holders) = reply.holders {
        self.holders = holders;
      }
      return true;
    }
    if !reply.existed {
      // Reaped (our lease ran out in Redis) or Redis lost its state: what we held is gone, and
      // older messages belong to a state that no longer exists.
      if (self.held > 0 || self.active > 0) && !self.fenced && self.readiness == Readiness::Ready {
        self.fence();
      }
      self.unsent = 0;
      self.drop_later();
    } else {
      self.later.retain(|&(seq, _)| seq > reply.seq);
    }
    let later: u32 = self.later.iter().map(|&(_, g)| g).sum();
    // Permits given back since the call was sent come off what Redis counted plus what it granted
    // since (in that order: a grant seen early may be what was given back).
    let held = reply.held.saturating_add(later).saturating_sub(self.unsent);
    let deadline = sent + self.settings.lease_ns.saturating_sub(self.margin());
    if now >= deadline {
      // The reply came too late to vouch for a lease (it may have run out since the call ran):
      // nothing starts on it, and the next call renews at once.
      if !self.fenced && (self.held > 0 || self.active > 0) && self.readiness == Readiness::Ready {
        self.fence();
        wake = true;
      }
      self.stale = true;
      self.dirty = true;
      self.lease_deadline = None;
    } else {
      self.stale = false;
      if self.fenced {
        self.fenced = false;
        self.events.push((wire::EVENT_LEASE_REGAINED, None));
        wake = true;
      } else if held > self.held {
        self.granted(held - self.held, now);
      }
      self.lease_deadline = Some(deadline);
    }
    if held > self.held && self.pending > 0 {
      wake = true;
    }
    self.held = held;
    // A message read before this reply may be newer (its view of the queue stands); a reply that
    // registers the process again starts the count afresh (a restarted Redis numbers from 1).
    if !reply.existed || reply.seq >= self.seq {
      self.seq = reply.seq;
      self.saw_queue(reply.queue, reply.queued, now);
    }
    if let Some(holders) = reply.holders {
      self.holders = holders;
    }
    self.used = reply.used;
    if !self.store_up {
      self.store_up = true;
      if self.readiness == Readiness::Ready {
        self.events.push((wire::EVENT_STORE_UP, None));
      }
      wake = true;
    }
    if self.readiness != Readiness::Ready && self.fatal.is_none() {
      self.readiness = Readiness::Ready;
      wake = true;
    }
    // Idle permits with someone else waiting go back now: the JS thread gives them back.
    if self.others_wait() && self.pending == 0 && self.held > self.active {
      wake = true;
    }
    wake
  }

  fn granted(&mut self, n: u32, now: u64) {
    self.slice_start = now;
    self.counters.grants += u64::from(n);
    if let Some(since) = self.waiting_since.take() {
      self.counters.max_wait_ns = self.counters.max_wait_ns.max(now.saturating_sub(since));
    }
  }

  /// Applies a grant message published on the limiter's channel. True when the JS thread must
  /// be woken.
  pub fn on_message(&mut self, message: &Message<'_>, pid: &str, now: u64) -> bool {
    if message.seq <= self.seq {
      return false;
    }
    let mut wake = false;
    for &(to, count, queued) in &message.grants {
      if to == pid {
        self.later.push((message.seq, count));
        self.queued = queued;
        // Used at once only under a lease known alive; otherwise the next reply (which counts
        // grants of a later seq) decides, or drops them if the process was reaped meanwhile.
        if self.lease_deadline.is_some_and(|d| now < d) && !self.fenced {
          self.granted(count, now);
          self.held = self.held.saturating_add(count);
          wake |= self.pending > 0;
        }
      }
    }
    let queued = self.queued;
    self.seq = message.seq;
    self.saw_queue(message.queue, queued, now);
    if self.others_wait() && self.pending == 0 && self.held > self.active {
      wake = true;
    }
    wake
  }

  /// Forgets the grants seen ahead of the last reply (they may belong to a registration that no
  /// longer exists, and after a restart of Redis seqs start again, so they cannot be told apart).
  /// Any it held may be live in Redis all the same: the next call, made at once, counts them.
  fn drop_later(&mut self) {
    if !self.later.is_empty() {
      self.later.clear();
      self.dirty = true;
    }
  }

  fn fence(&mut self) {
    self.fenced = true;
    self.held = 0;
    self.unsent = 0;
    self.drop_later();
    self.counters.fenced += 1;
    self.events.push((wire::EVENT_LEASE_LOST, None));
  }

  /// Redis stopped answering (`cause`). True when the JS thread must be woken.
  pub fn store_down(&mut self, cause: &str) -> bool {
    if !self.store_up {
      return false;
    }
    self.store_up = false;
    self.events.push((wire::EVENT_STORE_DOWN, Some(cause.to_string())));
    true
  }

  /// A permanent failure: nothing will be retried.
  pub fn fatal(&mut self, message: String) -> bool {
    if self.fatal.is_some() {
      return false;
    }
    self.events.push((wire::EVENT_FATAL, Some(message.clone())));
    if self.readiness == Readiness::Pending {
      self.readiness = Readiness::Failed(message.clone());
    }
    self.fatal = Some(message);
    self.held = 0;
    true
  }

  /// No connection succeeded within the connect timeout: `ready()` rejects (the client keeps
  /// trying).
  pub fn connect_timed_out(&mut self, message: String) -> bool {
    if self.readiness != Readiness::Pending {
      return false;
    }
    self.readiness = Readiness::Failed(message);
    true
  }

  /// The runtime thread stopped (closed, or gave up): `close()` resolves.
  pub fn stopped(&mut self) -> bool {
    let was = self.closed;
    self.closed = true;
    self.held = 0;
    !was
  }

  /// Whether the JS thread ran within half a lease: only then is the lease renewed.
  pub fn js_recent(&self, now: u64) -> bool {
    now.saturating_sub(self.js_seen) < self.settings.lease_ns / 2
  }

  /// Time-driven transitions: the lease ran out (fence), idle permits lingered long enough (the
  /// JS thread gives them back). True when the JS thread must be woken.
  pub fn tick(&mut self, now: u64) -> bool {
    let mut wake = false;
    if let Some(deadline) = self.lease_deadline {
      if now >= deadline && !self.fenced {
        self.lease_deadline = None;
        if self.held > 0 || self.active > 0 {
          self.fence();
          wake = true;
        }
      }
    }
    if let Some(since) = self.idle_since {
      if !self.linger_signalled && now.saturating_sub(since) >= self.settings.linger_ns {
        self.linger_signalled = true;
        wake = true;
      }
    }
    wake
  }

  /// The next instant `tick` has something to do, if any.
  pub fn next_tick(&self) -> Option<u64> {
    let lease = self.lease_deadline.filter(|_| !self.fenced && (self.held > 0 || self.active > 0));
    let linger = self.idle_since.filter(|_| !self.linger_signalled).map(|s| s + self.settings.linger_ns);
    match (lease, linger) {
      (Some(a), Some(b)) => Some(a.min(b)),
      (a, b) => a.or(b),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const MS: u64 = 1_000_000;

  fn ledger(limit: u32) -> Ledger {
    Ledger::new(
      Settings {
        limit,
        lease_ns: 3000 * MS,
        on_store_down: wire::STORE_DOWN_WAIT,
        local_concurrency: 2,
        linger_ns: 50 * MS,
        quantum_ns: 0,
      },
      0,
    )
  }

  fn reply(held: u32, seq: u64, queue: u32, queued: bool) -> Reply {
    Reply { held, seq, queue, queued, holders: Some(1), used: held, existed: true, redis_ms: 0 }
  }

  #[test]
  fn asks_for_its_demand_up_to_the_limit_and_holds_what_redis_grants() {
    let mut l = ledger(4);
    assert_eq!(l.cap(), 0, "nothing before a grant");
    l.local(0, 10, 0, 0);
    let r = l.take_request(false).unwrap();
    assert_eq!((r.want, r.release, r.requeue), (4, 0, false));
    assert!(l.take_request(false).is_none(), "nothing new to say");
    assert!(l.on_reply(&r, &reply(4, 1, 0, false), 0, 1));
    assert_eq!(l.cap(), 4);
    assert_eq!(l.readiness(), &Readiness::Ready);
  }

  #[test]
  fn reuses_while_nobody_waits_and_returns_when_others_do() {
    let mut l = ledger(4);
    l.local(4, 10, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    assert!(l.reuse(2));
    // Someone else queues: the next freed permit goes back, and we re-queue with a new ticket.
    let m = Message { seq: 2, queue: 1, grants: vec![] };
    l.on_message(&m, "me", 2);
    assert!(!l.reuse(2));
    assert!(l.returned(1), "the runtime thread is poked");
    assert!(!l.returned(1), "once per batch");
    assert_eq!(l.cap(), 2);
    let r = l.take_request(false).unwrap();
    assert_eq!((r.release, r.requeue), (2, true));
  }

  #[test]
  fn a_time_slice_lets_a_holder_reuse_a_while_after_others_queue() {
    let mut l = ledger(4);
    l.settings.quantum_ns = 10 * MS;
    l.local(4, 10, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 100 * MS);
    l.on_message(&Message { seq: 2, queue: 1, grants: vec![] }, "me", 103 * MS);
    assert!(l.reuse(103 * MS), "within the slice (from seeing them wait at 103 ms)");
    assert!(l.reuse(112 * MS));
    assert!(!l.reuse(113 * MS), "over: freed permits go back");
    // Granted again later: a new slice.
    l.on_message(&Message { seq: 3, queue: 2, grants: vec![("me", 1, true)] }, "me", 150 * MS);
    assert!(l.reuse(155 * MS));
    assert!(!l.reuse(161 * MS));
    // Nobody else waits: reuse whatever the time.
    l.on_message(&Message { seq: 4, queue: 0, grants: vec![] }, "me", 200 * MS);
    assert!(l.reuse(10_000 * MS));
  }

  #[test]
  fn a_reply_is_absolute_and_later_grants_are_kept() {
    let mut l = ledger(8);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(0, 1, 0, false), 0, 1);
    l.local(0, 8, 0, 1);
    let r = l.take_request(false).unwrap();
    // A grant message with a later seq overtakes the reply (two connections).
    l.on_message(&Message { seq: 5, queue: 0, grants: vec![("me", 3, false)] }, "me", 1);
    assert_eq!(l.held(), 3);
    l.on_reply(&r, &reply(2, 4, 1, true), 1, 2);
    assert_eq!(l.held(), 5, "2 at seq 4, plus 3 granted at seq 5");
    // A message older than what a reply showed is ignored.
    l.on_message(&Message { seq: 3, queue: 0, grants: vec![("me", 9, false)] }, "me", 3);
    assert_eq!(l.held(), 5);
  }

  #[test]
  fn releases_made_during_a_call_are_not_counted_back() {
    let mut l = ledger(8);
    l.local(0, 8, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(8, 1, 0, false), 0, 1);
    l.local(8, 0, 0, 2);
    let r = l.take_request(true).unwrap();
    // While the heartbeat is in flight, 3 tasks finish and their permits go back.
    l.local(5, 0, 0, 3);
    l.on_message(&Message { seq: 2, queue: 1, grants: vec![] }, "me", 3);
    l.local(5, 0, 0, 3);
    assert_eq!(l.held(), 5);
    l.on_reply(&r, &reply(8, 3, 1, false), 0, 4);
    assert_eq!(l.held(), 5, "Redis still counts 8, 3 of them on their way back");
  }

  #[test]
  fn a_permit_granted_early_and_given_back_is_not_counted_twice() {
    // Found by the model below: a grant message overtakes the reply of a call sent before it,
    // and the granted permit goes back before that reply arrives.
    let mut l = ledger(8);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(0, 1, 0, false), 0, 1);
    let r = l.take_request(true).unwrap();
    l.on_message(&Message { seq: 3, queue: 0, grants: vec![("me", 1, false)] }, "me", 1);
    assert_eq!(l.held(), 1);
    l.returned(1);
    l.on_reply(&r, &reply(0, 2, 0, false), 1, 2);
    assert_eq!(l.held(), 0, "Redis counts 1 (0 at seq 1, then the grant), and it went back");
  }

  #[test]
  fn grants_wait_for_a_live_lease_and_a_late_reply_vouches_for_none() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    // A grant before the first reply: not used until a reply vouches for the lease.
    l.on_message(&Message { seq: 2, queue: 0, grants: vec![("me", 2, false)] }, "me", 1);
    assert_eq!(l.cap(), 0);
    l.on_reply(&r, &reply(0, 1, 1, true), 0, 2);
    assert_eq!(l.cap(), 2, "the reply (seq 1) plus the grant of seq 2");
    // A reply that arrives after its lease would have run out starts nothing.
    l.local(2, 2, 0, 3);
    let r = l.take_request(true).unwrap();
    l.on_reply(&r, &reply(4, 3, 0, false), 10 * MS, 3000 * MS);
    assert_eq!(l.cap(), 0);
    assert_eq!(l.take_events().first().map(|e| e.0), Some(wire::EVENT_LEASE_LOST));
    let r = l.take_request(false).expect("renews at once");
    l.on_reply(&r, &reply(4, 4, 0, false), 3000 * MS, 3001 * MS);
    assert_eq!(l.cap(), 4);
    assert_eq!(l.take_events(), vec![(wire::EVENT_LEASE_REGAINED, None)]);
  }

  #[test]
  fn idle_permits_linger_then_go_back() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    assert!(!l.local(0, 0, 0, 10 * MS), "kept while lingering");
    assert_eq!(l.held(), 4);
    assert_eq!(l.next_tick().map(|t| t.min(60 * MS)), Some(60 * MS));
    assert!(l.tick(60 * MS), "the JS thread is woken to give them back");
    assert!(l.local(0, 0, 0, 60 * MS));
    assert_eq!((l.held(), l.take_request(false).unwrap().release), (0, 4));
  }

  #[test]
  fn an_expired_lease_fences_and_a_new_registration_regains() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    l.local(4, 0, 0, 2);
    assert!(!l.tick(2000 * MS));
    assert!(l.tick(2800 * MS), "lease 3 s less a 300 ms margin");
    assert_eq!(l.cap(), 0);
    assert_eq!(l.take_events(), vec![(wire::EVENT_LEASE_LOST, None)]);
    let r = l.take_request(true).unwrap();
    let mut fresh = reply(0, 1, 0, false);
    fresh.existed = false;
    assert!(l.on_reply(&r, &fresh, 2900 * MS, 2901 * MS));
    assert_eq!(l.take_events(), vec![(wire::EVENT_LEASE_REGAINED, None)]);
    assert_eq!(l.cap(), 0, "nothing held in the new state");
  }

  #[test]
  fn a_reply_that_finds_us_gone_fences() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    l.local(4, 0, 0, 2);
    let r = l.take_request(true).unwrap();
    let mut gone = reply(0, 1, 0, false);
    gone.existed = false;
    l.on_reply(&r, &gone, 3, 4);
    let kinds: Vec<u32> = l.take_events().into_iter().map(|e| e.0).collect();
    assert_eq!(kinds, vec![wire::EVENT_LEASE_LOST, wire::EVENT_LEASE_REGAINED]);
    assert_eq!(l.counters().fenced, 1);
  }

  #[test]
  fn a_grant_read_before_a_reply_that_registers_again_is_asked_for_at_once() {
    // The first call (or one after a reap) registers and queues the process; another process's
    // release grants it 2 (seq 6), and that message is read before the reply (seq 5, existed 0).
    let mut l = ledger(8);
    l.local(0, 4, 0, MS);
    let r = l.take_request(false).unwrap();
    l.on_message(&Message { seq: 6, queue: 1, grants: vec![("me", 2, true)] }, "me", 2 * MS);
    let mut first = reply(0, 5, 1, true);
    first.existed = false;
    l.on_reply(&r, &first, MS, 3 * MS);
    assert_eq!(l.held(), 0, "not used: it cannot be told from a grant to a registration that is gone");
    let again = l.take_request(false).expect("but Redis is asked at once, not at the next heartbeat");
    l.on_reply(&again, &reply(2, 7, 1, true), 3 * MS, 4 * MS);
    assert_eq!(l.held(), 2, "the next reply counts it");
    // The same when the lease fences after such a message and before the reply.
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(2, 1, 1, true), 0, MS);
    l.local(2, 2, 0, MS);
    let r = l.take_request(true).unwrap();
    l.on_message(&Message { seq: 3, queue: 0, grants: vec![("me", 2, false)] }, "me", 2 * MS);
    l.tick(3000 * MS);
    assert_eq!(l.held(), 0, "fenced");
    l.on_reply(&r, &reply(2, 2, 0, false), 2999 * MS, 3000 * MS + 1);
    assert!(l.take_request(false).is_some(), "the grant it forgot is asked for at once");
  }

  #[test]
  fn an_older_reply_does_not_overwrite_a_newer_view_of_the_queue() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, MS);
    l.local(4, 0, 0, MS);
    let r = l.take_request(true).unwrap();
    // Another process queues (seq 3) and its message is read before this call's reply (seq 2).
    l.on_message(&Message { seq: 3, queue: 1, grants: vec![] }, "me", 2 * MS);
    assert!(l.others_wait());
    l.on_reply(&r, &reply(4, 2, 0, false), MS, 3 * MS);
    assert!(l.others_wait(), "the reply is older than the message: someone still waits");
  }

  #[test]
  fn nothing_starts_past_the_lease_deadline_even_before_the_tick_fences() {
    // A process frozen past its lease (SIGSTOP) wakes with the JS thread first: the permits it
    // held may have gone to another process, so the cap is 0 before `tick` runs.
    let mut l = ledger(4);
    l.local(0, 10, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    assert_eq!(l.cap_at(MS), 4);
    let deadline = 3000 * MS - 300 * MS;
    assert_eq!(l.cap_at(deadline - 1), 4);
    assert_eq!(l.cap_at(deadline), 0, "the lease may have run out in Redis");
    assert!(!l.local(0, 10, 0, deadline + 5 * MS), "no new request: the tick fences");
    assert!(l.tick(deadline + 5 * MS));
    assert_eq!(l.cap_at(deadline + 5 * MS), 0);
    // Under STORE_DOWN_LOCAL with Redis down, the local limit applies past the deadline (as `cap`).
    let mut l = ledger(4);
    l.settings.on_store_down = wire::STORE_DOWN_LOCAL;
    l.local(0, 10, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(4, 1, 0, false), 0, 1);
    l.store_down("gone");
    assert_eq!(l.cap_at(deadline + MS), 2);
  }

  #[test]
  fn store_down_waits_or_runs_locally() {
    let mut l = ledger(8);
    l.local(0, 4, 0, 0);
    let r = l.take_request(false).unwrap();
    l.on_reply(&r, &reply(3, 1, 0, false), 0, 1);
    assert!(l.store_down("gone"));
    assert_eq!(l.cap(), 3, "WAIT: the leased permits stay usable until the lease ends");
    l.settings.on_store_down = wire::STORE_DOWN_LOCAL;
    assert_eq!(l.cap(), 2, "LOCAL: the local limit");
  }

  #[test]
  fn fatal_and_close() {
    let mut l = ledger(8);
    assert!(l.fatal("WRONGPASS".into()));
    assert_eq!(l.readiness(), &Readiness::Failed("WRONGPASS".into()));
    assert_eq!(l.cap(), 0);
    let mut l = ledger(8);
    l.close();
    let r = l.take_request(false).unwrap();
    assert!(r.leave);
    assert!(l.on_reply(&r, &reply(0, 1, 0, false), 0, 1));
    assert!(l.is_closed());
  }
}

/// Property test: against a model of Redis (this process's count there, `seq`) whose replies and
/// grant messages arrive on two connections in any interleaving, with JS steps in between, the
/// permits local tasks may use never exceed what Redis counts for the process.
#[cfg(test)]
mod model {
  use super::*;
  use proptest::prelude::*;
  use std::collections::VecDeque;

  #[derive(Clone, Debug)]
  enum Op {
    /// The JS thread reports `active` running (at most the cap) and `pending` queued.
    Local(u32, u32),
    /// The scheduler gave `n` permits back.
    Return(u32),
    /// The runtime thread sends the next call (if none is in flight).
    Send(bool),
    /// Redis runs the call in flight; its own serving grants `g` more to this process.
    Exec(u32),
    /// Another process's call grants this process `g` (a message follows).
    OtherGrant(u32),
    DeliverReply,
    DeliverMessage,
    /// The lease runs out: the local deadline passes first (fencing), then Redis reaps the
    /// process (its count drops to 0; its next call registers it again).
    Lose,
  }

  fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
      3 => ((0u32..10), (0u32..10)).prop_map(|(a, p)| Op::Local(a, p)),
      2 => (1u32..4).prop_map(Op::Return),
      2 => any::<bool>().prop_map(Op::Send),
      2 => (0u32..4).prop_map(Op::Exec),
      2 => (0u32..4).prop_map(Op::OtherGrant),
      3 => Just(Op::DeliverReply),
      3 => Just(Op::DeliverMessage),
      1 => Just(Op::Lose),
    ]
  }

  proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn held_never_exceeds_the_count_in_redis(ops in proptest::collection::vec(op(), 1..80)) {
      let mut l = Ledger::new(
        Settings { limit: 8, lease_ns: 1 << 40, on_store_down: wire::STORE_DOWN_WAIT, local_concurrency: 1, linger_ns: 0, quantum_ns: 0 },
        0,
      );
      let (mut count, mut seq, mut registered) = (0u32, 0u64, true);
      let mut in_flight: Option<(Request, u64)> = None;
      let mut executed: Option<Request> = None;
      let mut replies: VecDeque<(Request, Reply, u64)> = VecDeque::new();
      let mut messages: VecDeque<(u64, u32)> = VecDeque::new();
      let mut now = 1;
      for op in ops {
        now += 1;
        match op {
          Op::Local(active, pending) => {
            let active = active.min(l.cap());
            l.local(active, pending, 0, now);
          }
          Op::Return(n) => {
            l.returned(n.min(l.held()));
          }
          Op::Send(renew) => {
            if in_flight.is_none() && executed.is_none() {
              in_flight = l.take_request(renew).map(|r| (r, now));
            }
          }
          Op::Exec(g) => {
            if let Some((r, sent)) = in_flight.take() {
              count -= r.release.min(count);
              count += g;
              seq += 1;
              let existed = std::mem::replace(&mut registered, true);
              let reply = Reply { held: count, seq, queue: 0, queued: false, holders: None, used: count, existed, redis_ms: 0 };
              replies.push_back((r, reply, sent));
              executed = Some(r);
            }
          }
          Op::OtherGrant(g) => {
            if !registered {
              continue; // only a queued (so registered) process is granted anything
            }
            count += g;
            seq += 1;
            messages.push_back((seq, g));
          }
          Op::DeliverReply => {
            if let Some((r, reply, sent)) = replies.pop_front() {
              l.on_reply(&r, &reply, sent, now);
              executed = None;
            }
          }
          Op::DeliverMessage => {
            if let Some((s, g)) = messages.pop_front() {
              let m = Message { seq: s, queue: 0, grants: vec![("me", g, false)] };
              l.on_message(&m, "me", now);
            }
          }
          Op::Lose => {
            // Time passes beyond every lease taken so far.
            now += 1 << 42;
            l.tick(now);
            count = 0;
            seq += 1;
            registered = false;
          }
        }
        prop_assert!(l.cap() <= count, "cap {} > {} counted in Redis", l.cap(), count);
        if !l.fenced && !l.stale {
          prop_assert!(l.held() <= count, "held {} > {} counted in Redis", l.held(), count);
        }
      }
      // Once everything is delivered and a last call made, the process sees exactly its count
      // (less what it gave back and has not sent yet).
      while let Some((s, g)) = messages.pop_front() {
        l.on_message(&Message { seq: s, queue: 0, grants: vec![("me", g, false)] }, "me", now);
      }
      if let Some((r, reply, sent)) = replies.pop_front() {
        l.on_reply(&r, &reply, sent, now);
      }
      if let Some((r, _)) = in_flight.take() {
        count -= r.release.min(count);
        seq += 1;
        let existed = std::mem::replace(&mut registered, true);
        let reply = Reply { held: count, seq, queue: 0, queued: false, holders: None, used: count, existed, redis_ms: 0 };
        l.on_reply(&r, &reply, now, now);
      }
      let r = l.take_request(true).unwrap();
      count -= r.release.min(count);
      seq += 1;
      let existed = std::mem::replace(&mut registered, true);
      let reply = Reply { held: count, seq, queue: 0, queued: false, holders: None, used: count, existed, redis_ms: 0 };
      l.on_reply(&r, &reply, now, now);
      prop_assert_eq!(l.held(), count, "reconciled");
    }
  }
}
