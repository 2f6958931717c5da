//! The bounded pool's state machine: the queue, the counters, priorities, ordering, deadlines,
//! deadlock detection and statistics. Pure Rust: the addon's pool binding (`src/pool.rs`) only
//! moves integers and promise handles in and out of it.
//!
//! A task is queued with a `payload` (in the addon, the `napi_deferred` of its start gate). Tasks
//! start in priority order, FIFO within a priority. A *tracked* pool (`Pool`) keeps every task in a
//! slot from submission to settlement, for abort, timeouts, statistics and deadlock detection. An
//! untracked pool (`pLimit`) has one priority and no removal, so its queue is a plain FIFO of
//! payloads with run-length entries (a `map` of N items waits as one entry), and its running tasks
//! are a count: that is all p-limit's API can observe.
//!
//! A tracked task's identity is a [`Token`]: its slot and the slot's generation. The slot is held
//! from submission until the task finishes, is removed or is cleared, and every entry point that
//! takes a token checks the generation, so a stale token (a late start, timer or abort of a task
//! whose slot was freed and reused since) acts on nothing. The queue is an ordered map of FIFO
//! buckets, one per priority queued now, each a doubly-linked list threaded through the slots:
//! enqueue, start, and removal from the middle are O(log P) in the priorities queued now (O(1) in
//! the middle of a bucket), nothing is left behind by a removal, and an empty bucket is dropped.

use crate::pool::adaptive::{self, Controller, Estimate};
use crate::pool::deadlines::Deadlines;
use crate::pool::stats::{PoolStats, StatsSnapshot};
use crate::pool::wire;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

/// A tracked task's identity across the boundary: `slot · 2^21 + generation` (`slot ·
/// wire::TOKEN_SLOT_UNIT + generation`, the layout JS reads slots from). Generations stay
/// below 2^21 and slots below 2^32, so every token is an exact JS number (below 2^53), and a small
/// integer (no allocation in V8) while the slot is below 1024. A slot whose generation would wrap
/// is retired, never reused: no token is ever issued twice, so no stale start, timer or abort,
/// however late, can reach a later task.
pub type Token = u64;

/// "No task": the token of untracked running tasks and of a task without a parent.
pub const NO_ID: Token = u64::MAX;

/// Generations stay below 2^21 (a token must stay below 2^53).
const GENERATION_BITS: u32 = wire::TOKEN_GENERATION_BITS;
const _: () = assert!(wire::TOKEN_SLOT_UNIT == 1 << GENERATION_BITS && GENERATION_BITS + 32 <= 53);
const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;
/// "No slot": the end of a queue link, or no parent.
const NIL: u32 = u32::MAX;

/// The token of `slot` at `generation`.
pub fn token(slot: u32, generation: u32) -> Token {
  (slot as u64) << GENERATION_BITS | (generation & GENERATION_MASK) as u64
}

/// A token's slot and generation. Anything from 2^53 up (`NO_ID` among them) splits into a slot
/// that never exists, so that no number aliases a live task.
pub fn split(token: Token) -> (u32, u32) {
  if token >> 53 != 0 {
    return (NIL, NIL);
  }
  ((token >> GENERATION_BITS) as u32, token as u32 & GENERATION_MASK)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
  Free,
  Queued,
  Running,
}

struct Slot<T> {
  state: State,
  generation: u32,
  /// Its priority, while queued.
  priority: i32,
  /// Queue links (slot indices, `NIL` at the ends) within its priority's bucket, while queued.
  prev: u32,
  next: u32,
  queued_children: u32,
  /// Its index in `PoolCore::blocked` while it runs with queued children.
  blocked_at: u32,
  /// The submitting task (slot, generation), or (`NIL`, 0).
  parent: (u32, u32),
  payload: Option<T>,
  since: u64,
  deadline_armed: bool,
  /// Counts the deadlines armed in this slot (wrapping at 2^32, not 2^21): the heap's entries are
  /// tagged with it, so a stale entry cannot pass for a later task's deadline.
  deadline_id: u32,
}

/// The tasks queued at one priority, oldest first: the ends of a list linked through the slots.
struct Bucket {
  head: u32,
  tail: u32,
}

/// How a running task left its slot. The discriminants are the codes JS passes (`wire`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Outcome {
  Fulfilled = wire::FULFILLED,
  Rejected = wire::REJECTED,
  /// The task marked itself dropped (say, refused by the downstream): not a success.
  Dropped = wire::DROPPED,
}

impl Outcome {
  /// The outcome JS names by `code`: `wire::FULFILLED`, `wire::DROPPED`, and anything else is a
  /// rejection (`wire::REJECTED`).
  pub fn from_code(code: u32) -> Outcome {
    match code {
      wire::FULFILLED => Outcome::Fulfilled,
      wire::DROPPED => Outcome::Dropped,
      _ => Outcome::Rejected,
    }
  }

  fn for_controller(self) -> adaptive::Outcome {
    match self {
      Outcome::Fulfilled => adaptive::Outcome::Success,
      Outcome::Rejected => adaptive::Outcome::Error,
      Outcome::Dropped => adaptive::Outcome::Dropped,
    }
  }
}

/// A shared pool's permits (`createPool`'s `shared`): the fleet lends this process `cap`
/// permits, and a task starts only while fewer than `cap` run (the effective limit is
/// `min(concurrency, cap)`). When `reuse` is false (other processes wait in the fleet queue), a
/// finishing task's permit goes back rather than to the next local task: the cap drops by one and
/// `returned` counts it, for the binding to hand to the fleet in one batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permits {
  pub cap: u32,
  pub reuse: bool,
  pub returned: u32,
}

/// How many limit changes `limit_history` keeps.
const HISTORY: usize = 256;

pub struct PoolCore<T> {
  concurrency: f64,
  active: u32,
  pending: u32,
  last_id: Token,
  /// The tracked queue: one bucket per priority queued now (the highest starts first).
  queue: BTreeMap<i32, Bucket>,
  /// The untracked pool's queue: (payload, how many tasks share it), oldest first.
  fifo: VecDeque<(T, u32)>,
  slots: Vec<Slot<T>>,
  free: Vec<u32>,
  tracked: bool,
  /// The slots of running tasks that have at least one queued child (deadlock detection; only
  /// tasks submitted with a parent, that is with `detectDeadlock`, ever get here).
  blocked: Vec<u32>,
  deadlines: Deadlines,
  stats: PoolStats,
  /// An adaptive pool's controller: it sets `concurrency` from completed tasks.
  controller: Option<Controller>,
  history: VecDeque<(u64, f64)>,
  limit_changed: bool,
  /// A shared pool's permits; `None` for a local pool.
  permits: Option<Permits>,
}

impl<T: Copy> PoolCore<T> {
  pub fn new(concurrency: f64, tracked: bool) -> Self {
    PoolCore {
      concurrency,
      active: 0,
      pending: 0,
      last_id: NO_ID,
      queue: BTreeMap::new(),
      fifo: VecDeque::new(),
      slots: Vec::new(),
      free: Vec::new(),
      tracked,
      blocked: Vec::new(),
      deadlines: Deadlines::default(),
      stats: PoolStats::default(),
      controller: None,
      history: VecDeque::new(),
      limit_changed: false,
      permits: None,
    }
  }

  /// Makes the pool adaptive: from now on `controller` sets the limit.
  pub fn set_controller(&mut self, controller: Controller, now: u64) {
    self.concurrency = controller.limit();
    self.controller = Some(controller);
    self.history.clear();
    self.history.push_back((now, self.concurrency));
  }

  /// False for an untracked pool (`pLimit`): one FIFO, running tasks only counted.
  pub fn is_tracked(&self) -> bool {
    self.tracked
  }

  pub fn is_adaptive(&self) -> bool {
    self.controller.is_some()
  }

  /// Feeds one completed task to the controller (if any): it ran `rtt` ns with `inflight` tasks
  /// running. Returns true when the limit changed.
  pub fn observe(&mut self, rtt: u64, inflight: u32, outcome: Outcome, now: u64) -> bool {
    let Some(controller) = self.controller.as_mut() else {
      return false;
    };
    if !controller.on_sample(now, rtt, inflight, outcome.for_controller()) {
      return false;
    }
    self.concurrency = controller.limit();
    if self.history.len() == HISTORY {
      self.history.pop_front();
    }
    self.history.push_back((now, self.concurrency));
    self.limit_changed = true;
    true
  }

  /// True once after the limit changed (for the `onLimitChange` hook).
  pub fn take_limit_change(&mut self) -> bool {
    std::mem::take(&mut self.limit_changed)
  }

  /// The controller's latest estimate, if adaptive.
  pub fn estimate(&self) -> Option<(adaptive::Algorithm, Estimate)> {
    self.controller.as_ref().map(|c| (c.algorithm(), c.estimate()))
  }

  /// The last limit changes: (time ns, limit), oldest first.
  pub fn limit_history(&self) -> impl Iterator<Item = &(u64, f64)> {
    self.history.iter()
  }

  pub fn active(&self) -> u32 {
    self.active
  }
  pub fn pending(&self) -> u32 {
    self.pending
  }
  pub fn concurrency(&self) -> f64 {
    self.concurrency
  }
  /// Takes effect on the next start; callers drain (`start_next` in a loop) after raising it.
  pub fn set_concurrency(&mut self, c: f64) {
    self.concurrency = c;
  }
  fn has_room(&self) -> bool {
    (self.active as f64) < self.concurrency && self.permits.is_none_or(|p| self.active < p.cap)
  }

  /// Makes the pool shared (or updates it): `cap` permits held, `reuse` as [`Permits`] says.
  /// Takes effect on the next start; callers drain after raising it.
  pub fn set_permits(&mut self, cap: u32, reuse: bool) {
    let returned = self.permits.map_or(0, |p| p.returned);
    self.permits = Some(Permits { cap, reuse, returned });
  }

  /// A shared pool's permits, if shared.
  pub fn permits(&self) -> Option<Permits> {
    self.permits
  }

  /// The permits given back since the last call (see [`Permits`]); the cap already excludes
  /// them.
  pub fn take_returned(&mut self) -> u32 {
    self.permits.as_mut().map_or(0, |p| std::mem::take(&mut p.returned))
  }

  /// A task finished: in a shared pool whose permits must not be reused, its permit goes back.
  fn give_back(&mut self) {
    if let Some(p) = self.permits.as_mut() {
      if !p.reuse && p.cap > self.active {
        p.cap -= 1;
        p.returned += 1;
      }
    }
  }

  /// The priority of the task that would start next (0 when nothing is queued, and always in
  /// an untracked pool).
  pub fn head_priority(&self) -> i32 {
    self.queue.last_key_value().map_or(0, |(p, _)| *p)
  }

  fn alloc(&mut self, state: State, payload: Option<T>, now: u64, parent: Token) -> u32 {
    let parent = match self.slot_of(parent, State::Running) {
      Some(_) => split(parent),
      None => (NIL, 0),
    };
    let id = match self.free.pop() {
      Some(id) => id,
      None => {
        self.slots.push(Slot {
          state: State::Free,
          generation: 0,
          priority: 0,
          prev: NIL,
          next: NIL,
          queued_children: 0,
          blocked_at: NIL,
          parent: (NIL, 0),
          payload: None,
          since: 0,
          deadline_armed: false,
          deadline_id: 0,
        });
        (self.slots.len() - 1) as u32
      }
    };
    let s = &mut self.slots[id as usize];
    s.generation = (s.generation + 1) & GENERATION_MASK;
    s.state = state;
    s.payload = payload;
    s.since = now;
    s.parent = parent;
    s.queued_children = 0;
    s.deadline_armed = false;
    debug_assert_eq!(s.blocked_at, NIL, "a freed slot is in no blocked list");
    s.prev = NIL;
    s.next = NIL;
    id
  }

  /// The slot of `token` if that task is live and in `state`; None for a stale or foreign token.
  fn slot_of(&self, token: Token, state: State) -> Option<u32> {
    let (id, generation) = split(token);
    match self.slots.get(id as usize) {
      Some(s) if s.state == state && s.generation == generation => Some(id),
      _ => None,
    }
  }

  fn token_at(&self, id: u32) -> Token {
    token(id, self.slots[id as usize].generation)
  }

  /// Frees slot `id`. A slot at the last generation is retired instead (left free, never
  /// reused): its next generation would wrap and bring an old token back to life.
  fn release_slot(&mut self, id: u32) {
    let s = &mut self.slots[id as usize];
    s.state = State::Free;
    s.payload = None;
    if s.generation != GENERATION_MASK {
      self.free.push(id);
    }
  }

  /// Running task `id` got its first queued child.
  fn block(&mut self, id: u32) {
    self.slots[id as usize].blocked_at = self.blocked.len() as u32;
    self.blocked.push(id);
  }

  /// Running task `id` has no queued child any more (or finished).
  fn unblock(&mut self, id: u32) {
    let at = std::mem::replace(&mut self.slots[id as usize].blocked_at, NIL);
    if at == NIL {
      return;
    }
    self.blocked.swap_remove(at as usize);
    if let Some(&moved) = self.blocked.get(at as usize) {
      self.slots[moved as usize].blocked_at = at;
    }
  }

  /// Starts a task at once when a slot is free and nothing waits; returns its token
  /// (`NO_ID` in an untracked pool), or None when the task must be queued. `parent` is the token
  /// of the running task that submits it (deadlock detection), or `NO_ID`.
  pub fn try_start_now(&mut self, now: u64, parent: Token) -> Option<Token> {
    if self.pending > 0 || !self.has_room() {
      return None;
    }
    self.active += 1;
    if !self.tracked {
      return Some(NO_ID);
    }
    self.stats.on_start(now, 0);
    let id = self.alloc(State::Running, None, now, parent);
    Some(self.token_at(id))
  }

  /// Queues a task behind the others of its priority. Returns its token (`NO_ID` when untracked).
  pub fn enqueue(&mut self, priority: i32, payload: T, now: u64, parent: Token) -> Token {
    if !self.tracked {
      self.enqueue_run(payload, 1);
      return NO_ID;
    }
    let id = self.alloc(State::Queued, Some(payload), now, parent);
    let (p, _) = self.slots[id as usize].parent;
    if p != NIL {
      let ps = &mut self.slots[p as usize];
      ps.queued_children += 1;
      if ps.queued_children == 1 {
        self.block(p);
      }
    }
    self.slots[id as usize].priority = priority;
    match self.queue.entry(priority) {
      Entry::Vacant(v) => {
        v.insert(Bucket { head: id, tail: id });
      }
      Entry::Occupied(mut o) => {
        let bucket = o.get_mut();
        let tail = bucket.tail;
        bucket.tail = id;
        self.slots[tail as usize].next = id;
        self.slots[id as usize].prev = tail;
      }
    }
    self.pending += 1;
    self.last_id = self.token_at(id);
    self.last_id
  }

  /// The token the last tracked `enqueue` returned.
  pub fn last_id(&self) -> Token {
    self.last_id
  }

  /// Takes queued slot `id` out of its bucket; drops the bucket when it empties.
  fn unlink(&mut self, id: u32) {
    let s = &self.slots[id as usize];
    let (prev, next, priority) = (s.prev, s.next, s.priority);
    if prev != NIL {
      self.slots[prev as usize].next = next;
    }
    if next != NIL {
      self.slots[next as usize].prev = prev;
    }
    if prev == NIL && next == NIL {
      self.queue.remove(&priority);
    } else if prev == NIL || next == NIL {
      if let Some(bucket) = self.queue.get_mut(&priority) {
        if prev == NIL {
          bucket.head = next;
        }
        if next == NIL {
          bucket.tail = prev;
        }
      }
    }
    let s = &mut self.slots[id as usize];
    s.prev = NIL;
    s.next = NIL;
  }

  /// Untracked pools: queues `count` tasks that share one payload, behind everything queued.
  pub fn enqueue_run(&mut self, payload: T, count: u32) {
    debug_assert!(!self.tracked, "runs are for untracked pools");
    if count > 0 {
      self.fifo.push_back((payload, count));
      self.pending += count;
    }
  }

  /// Untracked pools: starts up to `count` tasks at once while slots are free and nothing waits.
  /// Returns how many started.
  pub fn try_start_many(&mut self, count: u32) -> u32 {
    if self.pending > 0 || self.tracked {
      return 0;
    }
    let mut room = (self.concurrency - self.active as f64).max(0.0);
    if let Some(p) = self.permits {
      room = room.min(f64::from(p.cap.saturating_sub(self.active)));
    }
    let n = if room >= count as f64 { count } else { room as u32 };
    self.active += n;
    n
  }

  fn pop_fifo(&mut self) -> Option<T> {
    let front = self.fifo.front_mut()?;
    let payload = front.0;
    front.1 -= 1;
    if front.1 == 0 {
      self.fifo.pop_front();
    }
    Some(payload)
  }

  fn child_left_queue(&mut self, id: u32) {
    let (p, g) = self.slots[id as usize].parent;
    if p == NIL {
      return;
    }
    let ps = &mut self.slots[p as usize];
    if ps.state == State::Running && ps.generation == g && ps.queued_children > 0 {
      ps.queued_children -= 1;
      if ps.queued_children == 0 {
        self.unblock(p);
      }
    }
  }

  /// Takes the oldest task of the highest priority off the queue.
  fn pop_queued(&mut self) -> Option<u32> {
    let mut top = self.queue.last_entry()?;
    let id = top.get().head;
    let next = self.slots[id as usize].next;
    if next == NIL {
      top.remove();
    } else {
      top.get_mut().head = next;
      self.slots[next as usize].prev = NIL;
    }
    self.slots[id as usize].next = NIL;
    Some(id)
  }

  /// Starts the next queued task if a slot is free: returns its token (`NO_ID` when untracked)
  /// and payload. Call in a loop to drain after raising the concurrency.
  pub fn start_next(&mut self, now: u64) -> Option<(Token, T)> {
    if self.pending == 0 || !self.has_room() {
      return None;
    }
    if !self.tracked {
      let payload = self.pop_fifo()?;
      self.pending -= 1;
      self.active += 1;
      return Some((NO_ID, payload));
    }
    let id = self.pop_queued()?;
    self.pending -= 1;
    self.active += 1;
    self.child_left_queue(id);
    let s = &mut self.slots[id as usize];
    let payload = s.payload.take()?;
    let waited = now.saturating_sub(s.since);
    s.state = State::Running;
    s.since = now;
    let started = token(id, s.generation);
    self.stats.on_start(now, waited);
    Some((started, payload))
  }

  /// A running task settled (or was abandoned by abort or timeout). `id` is its token, `NO_ID`
  /// when untracked. Returns false when `id` is not a running task (already finished, or stale).
  pub fn finish(&mut self, id: Token, outcome: Outcome, now: u64) -> bool {
    if id == NO_ID {
      if self.tracked || self.active == 0 {
        return false;
      }
      self.active -= 1;
      self.give_back();
      return true;
    }
    let Some(id) = self.slot_of(id, State::Running) else {
      return false;
    };
    let inflight = self.active;
    self.active -= 1;
    self.give_back();
    let s = &mut self.slots[id as usize];
    let ran = now.saturating_sub(s.since);
    let had_deadline = s.deadline_armed;
    if s.queued_children > 0 {
      s.queued_children = 0;
      self.unblock(id);
    }
    self.release_slot(id);
    if had_deadline {
      let slots = &self.slots;
      self.deadlines.disarm(|i, d| live_deadline(slots, i, d));
    }
    self.stats.on_finish(now, ran, outcome == Outcome::Fulfilled, outcome == Outcome::Dropped);
    self.observe(ran, inflight, outcome, now);
    true
  }

  /// Removes a queued task (its signal aborted); returns its payload, or None if it is not queued.
  pub fn remove(&mut self, id: Token) -> Option<T> {
    let id = self.slot_of(id, State::Queued)?;
    self.unlink(id);
    self.pending -= 1;
    self.child_left_queue(id);
    let payload = self.slots[id as usize].payload.take();
    self.release_slot(id);
    payload
  }

  /// Empties the queue; returns the removed tasks in the order they would have started (one
  /// element per run in an untracked pool).
  pub fn clear(&mut self) -> Vec<(Token, T)> {
    if !self.tracked {
      self.pending = 0;
      return self.fifo.drain(..).map(|(payload, _)| (NO_ID, payload)).collect();
    }
    let mut out = Vec::with_capacity(self.pending as usize);
    let queue = std::mem::take(&mut self.queue);
    for bucket in queue.into_values().rev() {
      let mut id = bucket.head;
      while id != NIL {
        self.child_left_queue(id);
        let s = &mut self.slots[id as usize];
        let next = s.next;
        s.prev = NIL;
        s.next = NIL;
        let cleared = token(id, s.generation);
        if let Some(p) = s.payload.take() {
          out.push((cleared, p));
        }
        self.release_slot(id);
        id = next;
      }
    }
    self.pending = 0;
    out
  }

  /// True when the pool is full, something is queued, and every running task is stuck: it has a
  /// queued descendant (a task submitted by it, or by a running task it submitted, and so on). If
  /// those tasks await what they submit, nothing can ever finish (p-limit issue #91). O(active):
  /// walks up from each running task with a queued child through its running ancestors.
  pub fn deadlocked(&self) -> bool {
    if self.pending == 0 || self.active == 0 || self.has_room() || self.blocked.is_empty() {
      return false;
    }
    let mut stuck = std::collections::HashSet::with_capacity(self.active as usize);
    for &b in &self.blocked {
      let mut id = b;
      while stuck.insert(id) {
        let (p, g) = self.slots[id as usize].parent;
        match self.slots.get(p as usize) {
          Some(s) if s.state == State::Running && s.generation == g => id = p,
          _ => break,
        }
      }
    }
    stuck.len() as u32 >= self.active
  }

  /// Arms a deadline `after` ns from now for running task `id` (a token); true when it is the
  /// earliest. A task has at most one deadline; a stale token arms nothing.
  pub fn arm_deadline(&mut self, id: Token, after: u64, now: u64) -> bool {
    let Some(id) = self.slot_of(id, State::Running) else {
      return false;
    };
    let s = &mut self.slots[id as usize];
    if s.deadline_armed {
      return false;
    }
    s.deadline_armed = true;
    s.deadline_id = s.deadline_id.wrapping_add(1);
    self.deadlines.arm(now.saturating_add(after), id, s.deadline_id)
  }

  /// Running tasks whose deadline has passed. They stay running until `finish`.
  pub fn expire(&mut self, now: u64) -> Vec<Token> {
    let slots = &self.slots;
    let due = self.deadlines.expire(now, |i, d| live_deadline(slots, i, d));
    due
      .into_iter()
      .map(|id| {
        self.slots[id as usize].deadline_armed = false;
        self.token_at(id)
      })
      .collect()
  }

  /// Nanoseconds until the earliest live deadline, if any.
  pub fn next_deadline_in(&mut self, now: u64) -> Option<u64> {
    let slots = &self.slots;
    self.deadlines.next(|i, d| live_deadline(slots, i, d)).map(|at| at.saturating_sub(now))
  }

  pub fn stats(&mut self, now: u64) -> StatsSnapshot {
    self.stats.snapshot(now)
  }
  pub fn reset_stats(&mut self, now: u64) {
    self.stats.reset(now);
  }
}

/// True when the heap entry `(id, deadline_id)` is the armed deadline of a running task.
fn live_deadline<T>(slots: &[Slot<T>], id: u32, deadline_id: u32) -> bool {
  slots.get(id as usize).is_some_and(|s| s.state == State::Running && s.deadline_armed && s.deadline_id == deadline_id)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn outcome_codes_are_the_wire_codes() {
    for outcome in [Outcome::Fulfilled, Outcome::Rejected, Outcome::Dropped] {
      assert_eq!(Outcome::from_code(outcome as u32), outcome);
    }
    assert_eq!(Outcome::from_code(wire::FULFILLED), Outcome::Fulfilled);
    assert_eq!(Outcome::from_code(wire::DROPPED), Outcome::Dropped);
    assert_eq!(Outcome::from_code(7), Outcome::Rejected, "an unknown code is a rejection");
  }

  #[test]
  fn a_token_is_slot_times_the_wire_unit_plus_generation() {
    let t = token(5, 3);
    assert_eq!(t, 5 * wire::TOKEN_SLOT_UNIT + 3);
    assert_eq!(split(t), (5, 3));
    assert_eq!(t / wire::TOKEN_SLOT_UNIT, 5, "JS's slotOf");
  }

  fn drain(p: &mut PoolCore<&'static str>) -> Vec<&'static str> {
    let mut out = vec![];
    while let Some((_, x)) = p.start_next(0) {
      out.push(x);
    }
    out
  }

  #[test]
  fn untracked_pool_counts_and_fifo() {
    let mut p = PoolCore::new(2.0, false);
    assert_eq!(p.try_start_now(0, NO_ID), Some(NO_ID));
    assert_eq!(p.try_start_now(0, NO_ID), Some(NO_ID));
    assert_eq!(p.try_start_now(0, NO_ID), None);
    p.enqueue(0, "a", 0, NO_ID);
    p.enqueue(0, "b", 0, NO_ID);
    assert_eq!((p.active(), p.pending()), (2, 2));
    assert!(p.start_next(0).is_none());
    assert!(p.finish(NO_ID, Outcome::Fulfilled, 0));
    assert_eq!(p.start_next(0).map(|x| x.1), Some("a"));
    assert_eq!((p.active(), p.pending()), (2, 1));
    // Nothing queued may jump the queue while something waits.
    assert_eq!(p.try_start_now(0, NO_ID), None);
  }

  #[test]
  fn a_shared_pool_starts_within_its_permits_and_gives_them_back_when_told() {
    let mut p = PoolCore::new(8.0, false);
    p.set_permits(2, true);
    assert_eq!(p.try_start_many(5), 2, "the permits bound the limit");
    p.enqueue_run("run", 3);
    assert!(p.start_next(0).is_none());
    // Reuse: a freed permit starts the next local task.
    assert!(p.finish(NO_ID, Outcome::Fulfilled, 0));
    assert_eq!(p.start_next(0).map(|s| s.1), Some("run"));
    assert_eq!(p.take_returned(), 0);
    // Others wait in the fleet: a freed permit goes back instead.
    p.set_permits(2, false);
    assert!(p.finish(NO_ID, Outcome::Fulfilled, 0));
    assert!(p.start_next(0).is_none());
    assert_eq!((p.permits().unwrap().cap, p.take_returned(), p.take_returned()), (1, 1, 0));
    // A grant raises the cap: the queue moves.
    p.set_permits(3, true);
    assert_eq!(p.start_next(0).map(|s| s.1), Some("run"));
    assert_eq!(p.start_next(0).map(|s| s.1), Some("run"));
    assert_eq!((p.active(), p.pending()), (3, 0));
    // Fenced (cap 0) with tasks still running: finishing gives nothing back (nothing is held).
    p.set_permits(0, false);
    assert!(p.finish(NO_ID, Outcome::Fulfilled, 0));
    assert_eq!(p.take_returned(), 0);
    let local: PoolCore<&str> = PoolCore::new(2.0, false);
    assert_eq!(local.permits(), None, "a local pool has no permits");
  }

  #[test]
  fn untracked_runs_share_one_entry_and_keep_fifo() {
    let mut p = PoolCore::new(2.0, false);
    assert_eq!(p.try_start_many(5), 2);
    p.enqueue_run("batch", 3);
    p.enqueue(0, "single", 0, NO_ID);
    assert_eq!((p.active(), p.pending()), (2, 4));
    assert_eq!(p.fifo.len(), 2, "a run of 3 is one entry");
    assert_eq!(p.try_start_many(1), 0, "nothing jumps the queue");
    let mut started = vec![];
    for _ in 0..4 {
      p.finish(NO_ID, Outcome::Fulfilled, 0);
      started.push(p.start_next(0).unwrap().1);
    }
    assert_eq!(started, ["batch", "batch", "batch", "single"]);
    p.enqueue_run("b2", 2);
    assert_eq!(p.clear(), vec![(NO_ID, "b2")]);
    assert_eq!(p.pending(), 0);
  }

  #[test]
  fn priorities_start_highest_first_then_fifo() {
    let mut p = PoolCore::new(1.0, true);
    p.try_start_now(0, NO_ID).unwrap();
    p.enqueue(0, "low1", 0, NO_ID);
    p.enqueue(5, "high1", 0, NO_ID);
    p.enqueue(0, "low2", 0, NO_ID);
    p.enqueue(5, "high2", 0, NO_ID);
    p.enqueue(-3, "neg", 0, NO_ID);
    p.set_concurrency(f64::INFINITY);
    assert_eq!(drain(&mut p), ["high1", "high2", "low1", "low2", "neg"]);
  }

  #[test]
  fn lowering_concurrency_lets_running_tasks_finish() {
    let mut p: PoolCore<&str> = PoolCore::new(4.0, false);
    for _ in 0..4 {
      p.try_start_now(0, NO_ID).unwrap();
    }
    p.enqueue(0, "x", 0, NO_ID);
    p.set_concurrency(2.0);
    p.finish(NO_ID, Outcome::Fulfilled, 0);
    assert!(p.start_next(0).is_none(), "3 running, limit 2");
    p.finish(NO_ID, Outcome::Fulfilled, 0);
    p.finish(NO_ID, Outcome::Fulfilled, 0);
    assert!(p.start_next(0).is_some());
  }

  #[test]
  fn remove_and_clear_skip_tombstones() {
    let mut p = PoolCore::new(1.0, true);
    let running = p.try_start_now(0, NO_ID).unwrap();
    let a = p.enqueue(0, "a", 0, NO_ID);
    p.enqueue(0, "b", 0, NO_ID);
    assert_eq!(p.remove(a), Some("a"));
    assert_eq!(p.remove(a), None);
    assert_eq!(p.pending(), 1);
    // The freed slot is reused under a new token; the old token acts on nothing.
    let c = p.enqueue(0, "c", 0, NO_ID);
    assert_eq!(split(c).0, split(a).0);
    assert_ne!(c, a);
    assert_eq!(p.remove(a), None);
    p.finish(running, Outcome::Fulfilled, 0);
    assert_eq!(p.start_next(0).map(|x| x.1), Some("b"));
    let cleared: Vec<_> = p.clear().into_iter().map(|x| x.1).collect();
    assert_eq!(cleared, ["c"]);
    assert_eq!(p.pending(), 0);
  }

  #[test]
  fn finish_is_idempotent() {
    let mut p: PoolCore<()> = PoolCore::new(1.0, true);
    let id = p.try_start_now(0, NO_ID).unwrap();
    assert!(p.finish(id, Outcome::Rejected, 10));
    assert!(!p.finish(id, Outcome::Rejected, 10));
    assert_eq!(p.active(), 0);
    assert_eq!(p.stats(10).failed, 1);
  }

  #[test]
  fn detects_a_pool_waiting_on_itself() {
    let mut p = PoolCore::new(2.0, true);
    let t1 = p.try_start_now(0, NO_ID).unwrap();
    let t2 = p.try_start_now(0, NO_ID).unwrap();
    p.enqueue(0, "child of t1", 0, t1);
    assert!(!p.deadlocked(), "t2 can still finish");
    let c2 = p.enqueue(0, "child of t2", 0, t2);
    assert!(p.deadlocked());
    p.remove(c2);
    assert!(!p.deadlocked());
    // An unrelated queued task does not count.
    p.enqueue(0, "outsider", 0, NO_ID);
    assert!(!p.deadlocked());
    p.finish(t1, Outcome::Fulfilled, 0);
    assert!(!p.deadlocked());
  }

  #[test]
  fn detects_a_nested_wait_chain() {
    // run(() => run(() => run(...))) on a pool of 2: the outer task waits on a running child that
    // waits on a queued grandchild.
    let mut p = PoolCore::new(2.0, true);
    let outer = p.try_start_now(0, NO_ID).unwrap();
    let child = p.try_start_now(0, outer).unwrap();
    let grandchild = p.enqueue(0, "grandchild", 0, child);
    assert!(p.deadlocked());
    p.remove(grandchild);
    assert!(!p.deadlocked());
    // An unrelated running task is not stuck: no deadlock while it can finish.
    p.finish(child, Outcome::Rejected, 0);
    let other = p.try_start_now(0, NO_ID).unwrap();
    let child = p.enqueue(0, "child", 0, outer);
    assert!(!p.deadlocked(), "`other` can still finish");
    let orphan = p.enqueue(0, "child of other", 0, other);
    assert!(p.deadlocked());
    p.finish(other, Outcome::Fulfilled, 0);
    p.remove(orphan);
    assert_eq!(p.start_next(0).map(|x| x.0), Some(child));
    // A chain three deep, the pool full: outer -> child (running) -> grandchild (running) -> queued.
    p.set_concurrency(3.0);
    let grandchild = p.try_start_now(0, child).unwrap();
    assert!(!p.deadlocked());
    p.enqueue(0, "great-grandchild", 0, grandchild);
    assert!(p.deadlocked());
    assert!(p.blocked.len() <= 2);
  }

  #[test]
  fn deadlines_expire_running_tasks_only() {
    let mut p: PoolCore<()> = PoolCore::new(2.0, true);
    let a = p.try_start_now(0, NO_ID).unwrap();
    let b = p.try_start_now(0, NO_ID).unwrap();
    assert!(p.arm_deadline(a, 100, 0));
    assert!(!p.arm_deadline(b, 200, 0));
    assert_eq!(p.next_deadline_in(50), Some(50));
    p.finish(a, Outcome::Fulfilled, 60);
    assert_eq!(p.next_deadline_in(60), Some(140));
    assert_eq!(p.expire(150), Vec::<Token>::new());
    assert_eq!(p.expire(250), vec![b]);
    assert_eq!(p.next_deadline_in(250), None);
  }

  #[test]
  fn an_adaptive_pool_moves_its_limit_from_finished_tasks() {
    use crate::pool::adaptive::{Algorithm, Bounds, Controller};
    let mut p: PoolCore<()> = PoolCore::new(1.0, true);
    p.set_controller(Controller::new(Algorithm::Vegas, Bounds { min: 1.0, max: 100.0, initial: 4.0 }), 0);
    assert_eq!(p.concurrency(), 4.0);
    let ms = 1_000_000u64;
    let mut now = 0;
    // Tasks that always take 50 ms with the pool full: nothing queues, so the limit grows.
    for _ in 0..40 {
      let ids: Vec<Token> = (0..p.concurrency() as u32).filter_map(|_| p.try_start_now(now, NO_ID)).collect();
      now += 50 * ms;
      for id in ids {
        p.finish(id, Outcome::Fulfilled, now);
      }
    }
    assert!(p.concurrency() > 4.0, "grew to {}", p.concurrency());
    assert!(p.take_limit_change());
    assert!(!p.take_limit_change(), "reported once");
    assert!(p.limit_history().count() > 1);
    let (algorithm, estimate) = p.estimate().unwrap();
    assert_eq!(algorithm, Algorithm::Vegas);
    assert!(estimate.min_rtt > 0.0);
    // Dropped tasks count apart and as congestion.
    let id = p.try_start_now(now, NO_ID).unwrap();
    p.finish(id, Outcome::Dropped, now + ms);
    assert_eq!(p.stats(now + ms).dropped, 1);
  }

  #[test]
  fn a_million_tasks_reuse_a_bounded_number_of_slots() {
    let mut p = PoolCore::new(16.0, true);
    let mut running = vec![];
    for i in 0..1_000_000u64 {
      match p.try_start_now(i, NO_ID) {
        Some(id) => running.push(id),
        None => {
          p.enqueue(0, (), i, NO_ID);
        }
      }
      if running.len() == 16 {
        for id in running.drain(..) {
          p.finish(id, Outcome::Fulfilled, i);
        }
        while let Some((id, _)) = p.start_next(i) {
          running.push(id);
        }
      }
    }
    assert!(p.slots.len() <= 64, "{} slots", p.slots.len());
    assert_eq!(p.stats(1_000_000).completed + running.len() as u64 + p.pending() as u64, 1_000_000);
  }
}

/// Property tests: random operations on a tracked pool against a small reference model.
#[cfg(test)]
mod model {
  use super::*;
  use proptest::prelude::*;
  use std::collections::{BTreeSet, HashMap};

  #[derive(Clone, Debug)]
  enum Op {
    /// Submits at a priority; the parent is some earlier token (maybe stale), or none.
    Submit {
      priority: i32,
      parent: Option<usize>,
    },
    /// Finishes the n-th token ever issued (maybe queued, finished or stale).
    Finish(usize),
    Remove(usize),
    Clear,
    SetConcurrency(u32),
    Arm(usize, u64),
    Expire,
    Stale(u64),
    /// The pool becomes shared, or the fleet lends it a new number of permits.
    Permits(u32, bool),
    /// The binding hands the returned permits to the fleet.
    TakeReturned,
  }

  fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
      6 => (-3i32..4, proptest::option::of(0usize..64)).prop_map(|(priority, parent)| Op::Submit { priority, parent }),
      4 => (0usize..64).prop_map(Op::Finish),
      2 => (0usize..64).prop_map(Op::Remove),
      1 => Just(Op::Clear),
      1 => (1u32..5).prop_map(Op::SetConcurrency),
      1 => ((0usize..64), (0u64..20)).prop_map(|(i, after)| Op::Arm(i, after)),
      1 => Just(Op::Expire),
      1 => any::<u64>().prop_map(Op::Stale),
      1 => ((0u32..5), any::<bool>()).prop_map(|(cap, reuse)| Op::Permits(cap, reuse)),
      1 => Just(Op::TakeReturned),
    ]
  }

  #[derive(Clone, Copy, PartialEq, Debug)]
  enum M {
    Queued { priority: i32, seq: u64 },
    Running,
    Gone,
  }

  #[derive(Default)]
  struct Model {
    limit: u32,
    tasks: HashMap<Token, M>,
    parent: HashMap<Token, Token>,
    deadline: HashMap<Token, u64>,
    issued: Vec<Token>,
    seq: u64,
    /// A shared pool's (cap, reuse, returned).
    permits: Option<(u32, bool, u32)>,
  }

  impl Model {
    fn count(&self, f: impl Fn(&M) -> bool) -> u32 {
      self.tasks.values().filter(|m| f(m)).count() as u32
    }
    fn active(&self) -> u32 {
      self.count(|m| *m == M::Running)
    }
    /// The effective limit: the concurrency, and a shared pool's permits.
    fn room(&self) -> u32 {
      self.permits.map_or(self.limit, |(cap, _, _)| self.limit.min(cap))
    }
    fn pending(&self) -> u32 {
      self.count(|m| matches!(m, M::Queued { .. }))
    }
    /// The queued task that must start next: highest priority, then the oldest.
    fn best(&self) -> Option<Token> {
      self
        .tasks
        .iter()
        .filter_map(|(t, m)| match m {
          M::Queued { priority, seq } => Some(((-*priority, *seq), *t)),
          _ => None,
        })
        .min()
        .map(|(_, t)| t)
    }
    /// Full, something queued, and every running task has a queued descendant through running
    /// ones.
    fn deadlocked(&self) -> bool {
      let (active, pending) = (self.active(), self.pending());
      let mut stuck = BTreeSet::new();
      for (c, p) in &self.parent {
        if !matches!(self.tasks[c], M::Queued { .. }) {
          continue;
        }
        let mut at = Some(*p);
        while let Some(t) = at.filter(|t| self.tasks[t] == M::Running) {
          stuck.insert(t);
          at = self.parent.get(&t).copied();
        }
      }
      pending > 0 && active > 0 && active >= self.room() && stuck.len() as u32 == active
    }
  }

  /// Starts what the core starts, checking each start against the model.
  fn drain(core: &mut PoolCore<u64>, model: &mut Model, now: u64) -> Result<(), TestCaseError> {
    while let Some((t, seq)) = core.start_next(now) {
      prop_assert!(model.active() < model.room(), "started beyond the limit (or the permits)");
      let best = model.best();
      prop_assert_eq!(Some(t), best, "priority then FIFO");
      prop_assert!(
        matches!(model.tasks[&t], M::Queued { seq: s, .. } if s == seq),
        "the payload travels with its token"
      );
      model.tasks.insert(t, M::Running);
    }
    prop_assert!(model.active() >= model.room() || model.pending() == 0, "a free slot with a queue");
    Ok(())
  }

  fn pick(model: &Model, i: usize) -> Token {
    if model.issued.is_empty() {
      NO_ID
    } else {
      model.issued[i % model.issued.len()]
    }
  }

  proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_core_matches_the_model(limit in 1u32..4, ops in proptest::collection::vec(op(), 1..120)) {
      let mut core: PoolCore<u64> = PoolCore::new(limit as f64, true);
      let mut model = Model { limit, ..Model::default() };
      let mut now = 0u64;
      for op in ops {
        now += 1;
        match op {
          Op::Submit { priority, parent } => {
            let parent = parent.map_or(NO_ID, |i| pick(&model, i));
            model.seq += 1;
            let seq = model.seq;
            let parent_running = model.tasks.get(&parent) == Some(&M::Running);
            let t = match core.try_start_now(now, parent) {
              Some(t) => {
                prop_assert!(model.pending() == 0 && model.active() < model.room());
                prop_assert!(!model.tasks.contains_key(&t), "a fresh token");
                model.tasks.insert(t, M::Running);
                t
              }
              None => {
                prop_assert!(model.pending() > 0 || model.active() >= model.room());
                let t = core.enqueue(priority, seq, now, parent);
                prop_assert_eq!(core.last_id(), t);
                prop_assert!(!model.tasks.contains_key(&t), "a fresh token");
                model.tasks.insert(t, M::Queued { priority, seq });
                if let Some((s, payload)) = core.start_next(now) {
                  prop_assert!(model.active() < model.room());
                  prop_assert_eq!(Some(s), model.best());
                  prop_assert!(matches!(model.tasks[&s], M::Queued { seq: q, .. } if q == payload), "the payload travels with its token");
                  model.tasks.insert(s, M::Running);
                }
                t
              }
            };
            if parent_running {
              model.parent.insert(t, parent);
            }
            model.issued.push(t);
          }
          Op::Finish(i) => {
            let t = pick(&model, i);
            let running = model.tasks.get(&t) == Some(&M::Running);
            prop_assert_eq!(core.finish(t, Outcome::Fulfilled, now), running, "finish acts once, on a running task");
            if running {
              model.tasks.insert(t, M::Gone);
              model.deadline.remove(&t);
              // A shared pool whose permits must not be reused gives the freed one back.
              let active = model.active();
              if let Some((cap, false, returned)) = model.permits {
                if cap > active {
                  model.permits = Some((cap - 1, false, returned + 1));
                }
              }
              drain(&mut core, &mut model, now)?;
            }
          }
          Op::Remove(i) => {
            let t = pick(&model, i);
            let queued = model.tasks.get(&t).copied();
            let removed = core.remove(t);
            match queued {
              Some(M::Queued { seq, .. }) => {
                prop_assert_eq!(removed, Some(seq));
                model.tasks.insert(t, M::Gone);
              }
              _ => prop_assert_eq!(removed, None),
            }
          }
          Op::Clear => {
            let mut expected: Vec<_> = model
              .tasks
              .iter()
              .filter_map(|(t, m)| match m {
                M::Queued { priority, seq } => Some(((-*priority, *seq), *t, *seq)),
                _ => None,
              })
              .collect();
            expected.sort();
            let expected: Vec<_> = expected.into_iter().map(|(_, t, seq)| (t, seq)).collect();
            prop_assert_eq!(core.clear(), expected.clone());
            for (t, _) in expected {
              model.tasks.insert(t, M::Gone);
            }
          }
          Op::SetConcurrency(c) => {
            core.set_concurrency(c as f64);
            model.limit = c;
            drain(&mut core, &mut model, now)?;
          }
          Op::Arm(i, after) => {
            let t = pick(&model, i);
            let armable = model.tasks.get(&t) == Some(&M::Running) && !model.deadline.contains_key(&t);
            let earliest_before = model.deadline.values().min().copied();
            let earliest = core.arm_deadline(t, after, now);
            if armable {
              model.deadline.insert(t, now + after);
              // Earlier than every live deadline when it says so (the heap may still hold a stale
              // earlier entry: then the JS timer is still armed for it, and fires early).
              prop_assert!(!earliest || earliest_before.is_none_or(|e| now + after < e), "not the earliest");
            } else {
              prop_assert!(!earliest);
            }
          }
          Op::Expire => {
            let mut due: Vec<Token> = model.deadline.iter().filter(|(_, at)| **at <= now).map(|(t, _)| *t).collect();
            due.sort();
            let mut got = core.expire(now);
            got.sort();
            prop_assert_eq!(&got, &due);
            for t in due {
              model.deadline.remove(&t);
              prop_assert_eq!(model.tasks[&t], M::Running, "expired tasks stay running until finished");
            }
            let next = model.deadline.values().min().map(|at| at - now);
            prop_assert_eq!(core.next_deadline_in(now), next);
          }
          Op::Permits(cap, reuse) => {
            core.set_permits(cap, reuse);
            let returned = model.permits.map_or(0, |p| p.2);
            model.permits = Some((cap, reuse, returned));
            drain(&mut core, &mut model, now)?;
          }
          Op::TakeReturned => {
            let returned = model.permits.map_or(0, |p| p.2);
            prop_assert_eq!(core.take_returned(), returned);
            if let Some(p) = model.permits.as_mut() {
              p.2 = 0;
            }
          }
          Op::Stale(t) => {
            // A token never issued (or a garbage number) acts on nothing.
            if !model.tasks.contains_key(&t) {
              prop_assert!(!core.finish(t, Outcome::Rejected, now));
              prop_assert_eq!(core.remove(t), None);
              prop_assert!(!core.arm_deadline(t, 1, now));
            }
          }
        }
        prop_assert_eq!(core.active(), model.active());
        prop_assert_eq!(core.pending(), model.pending());
        prop_assert_eq!(core.deadlocked(), model.deadlocked());
        prop_assert_eq!(core.permits().map(|p| (p.cap, p.reuse, p.returned)), model.permits);
        // Nothing is kept for priorities no longer queued.
        let queued: BTreeSet<i32> = model.tasks.values().filter_map(|m| match m { M::Queued { priority, .. } => Some(*priority), _ => None }).collect();
        prop_assert_eq!(core.queue.keys().copied().collect::<BTreeSet<_>>(), queued);
      }
    }
  }

  #[test]
  fn a_stale_token_after_slot_reuse_acts_on_nothing() {
    let mut p: PoolCore<u64> = PoolCore::new(1.0, true);
    let a = p.try_start_now(0, NO_ID).unwrap();
    assert!(p.finish(a, Outcome::Rejected, 1));
    let b = p.try_start_now(1, NO_ID).unwrap();
    assert_eq!(split(a).0, split(b).0, "the slot is reused");
    assert!(!p.finish(a, Outcome::Fulfilled, 2), "the old token does not finish the new task");
    assert!(!p.arm_deadline(a, 1, 2));
    assert_eq!(p.active(), 1);
    assert!(p.finish(b, Outcome::Fulfilled, 3));
  }

  #[test]
  fn a_slot_is_retired_before_its_generation_wraps() {
    // A queued task's gate opens (it holds its slot), then it is aborted before its start runs: its
    // token is stale. However many queue/clear cycles reuse the slot before that late start
    // arrives, the old token never names a later task.
    let mut p: PoolCore<u64> = PoolCore::new(2.0, true);
    let holder = p.try_start_now(0, NO_ID).unwrap();
    let other = p.try_start_now(0, NO_ID).unwrap();
    let x = p.enqueue(0, 0, 0, NO_ID);
    assert!(p.finish(other, Outcome::Fulfilled, 0));
    let (opened, _) = p.start_next(0).unwrap();
    assert_eq!(opened, x);
    assert!(p.finish(x, Outcome::Rejected, 0), "aborted before its start ran");
    p.set_concurrency(1.0);
    let mut issued = std::collections::HashSet::new();
    for i in 1..=(1u64 << GENERATION_BITS) + 5 {
      let t = p.enqueue(0, i, 0, NO_ID);
      assert_ne!(t, x, "cycle {i}: the stale token came back");
      assert!(issued.insert(t), "cycle {i}: a token issued twice");
      assert_eq!(p.clear(), vec![(t, i)]);
    }
    let y = p.enqueue(0, 7, 0, NO_ID);
    assert_ne!(y, x);
    assert!(!p.finish(x, Outcome::Fulfilled, 0), "the stale token acts on nothing");
    assert_eq!(p.remove(x), None);
    assert!(!p.arm_deadline(x, 1, 0));
    assert_eq!((p.active(), p.pending()), (1, 1));
    assert!(p.slots.len() <= 4, "{} slots", p.slots.len());
    assert!(p.finish(holder, Outcome::Fulfilled, 0));
    assert_eq!(p.start_next(0), Some((y, 7)));
  }

  #[test]
  fn tokens_are_exact_js_numbers() {
    let mut p: PoolCore<u64> = PoolCore::new(1.0, true);
    for i in 0..3_000_000u64 {
      let t = p.try_start_now(i, NO_ID).unwrap();
      assert!(t < 1 << 53);
      assert!(p.finish(t, Outcome::Fulfilled, i));
    }
  }

  #[test]
  fn per_task_queue_cost_does_not_grow_with_distinct_priorities() {
    // 200,000 tasks at distinct priorities, removed from the middle, cleared and drained: the
    // queue keeps no bucket for a priority no longer queued.
    let mut p: PoolCore<u64> = PoolCore::new(1.0, true);
    let holder = p.try_start_now(0, NO_ID).unwrap();
    let tokens: Vec<Token> = (0..200_000).map(|i| p.enqueue(i * 7 % 100_003, i as u64, 0, NO_ID)).collect();
    for t in tokens.iter().step_by(3) {
      assert!(p.remove(*t).is_some());
    }
    p.set_concurrency(f64::INFINITY);
    let mut last = i32::MAX;
    while let Some((t, _)) = p.start_next(0) {
      let priority = p.slots[split(t).0 as usize].priority;
      assert!(priority <= last);
      last = priority;
    }
    assert!(p.queue.is_empty());
    assert_eq!(p.pending(), 0);
    assert!(p.finish(holder, Outcome::Fulfilled, 0));
  }
}
