//! The bounded pool's state machine: the queue, the counters, priorities, ordering, deadlines,
//! deadlock detection and statistics. Pure Rust: the napi layer (`pool_binding.rs`) only moves
//! integers and promise handles in and out of it.
//!
//! A task is queued with a `payload` (in the addon, the `napi_deferred` of its start gate). Tasks
//! start in priority order, FIFO within a priority. A *tracked* pool (`Pool`) keeps every task in a
//! slot from submission to settlement, for abort, timeouts, statistics and deadlock detection. An
//! untracked pool (`pLimit`) has one priority and no removal, so its queue is a plain FIFO of
//! payloads with run-length entries (a `map` of N items waits as one entry), and its running tasks
//! are a count: that is all p-limit's API can observe.

use crate::adaptive::{self, Controller, Estimate};
use crate::deadlines::Deadlines;
use crate::pool_stats::{PoolStats, StatsSnapshot};
use std::collections::VecDeque;

/// "No task": the id of untracked running tasks and of a task without a parent.
pub const NO_ID: u32 = u32::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
  Free,
  Queued,
  Running,
}

struct Slot<T> {
  state: State,
  generation: u32,
  payload: Option<T>,
  since: u64,
  parent: (u32, u32),
  queued_children: u32,
  deadline_armed: bool,
}

struct Bucket {
  priority: i32,
  ids: VecDeque<(u32, u32)>,
}

/// How a running task left its slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
  Fulfilled,
  Rejected,
  /// The task marked itself dropped (say, refused by the downstream): not a success.
  Dropped,
}

impl Outcome {
  fn for_controller(self) -> adaptive::Outcome {
    match self {
      Outcome::Fulfilled => adaptive::Outcome::Success,
      Outcome::Rejected => adaptive::Outcome::Error,
      Outcome::Dropped => adaptive::Outcome::Dropped,
    }
  }
}

/// How many limit changes `limit_history` keeps.
const HISTORY: usize = 256;

pub struct PoolCore<T> {
  concurrency: f64,
  active: u32,
  pending: u32,
  last_id: u32,
  /// Buckets by priority, highest first. Removed tasks stay in their deque as tombstones
  /// (their slot is `Free`, or reused with another generation) until popped.
  buckets: Vec<Bucket>,
  /// The untracked pool's queue: (payload, how many tasks share it), oldest first.
  fifo: VecDeque<(T, u32)>,
  slots: Vec<Slot<T>>,
  free: Vec<u32>,
  tracked: bool,
  /// Running tasks that have at least one queued child (deadlock detection).
  blocked: u32,
  deadlines: Deadlines,
  stats: PoolStats,
  /// An adaptive pool's controller: it sets `concurrency` from completed tasks.
  controller: Option<Controller>,
  history: VecDeque<(u64, f64)>,
  limit_changed: bool,
}

impl<T: Copy> PoolCore<T> {
  pub fn new(concurrency: f64, tracked: bool) -> Self {
    PoolCore {
      concurrency,
      active: 0,
      pending: 0,
      last_id: NO_ID,
      buckets: Vec::new(),
      fifo: VecDeque::new(),
      slots: Vec::new(),
      free: Vec::new(),
      tracked,
      blocked: 0,
      deadlines: Deadlines::default(),
      stats: PoolStats::default(),
      controller: None,
      history: VecDeque::new(),
      limit_changed: false,
    }
  }

  /// Makes the pool adaptive: from now on `controller` sets the limit.
  pub fn set_controller(&mut self, controller: Controller, now: u64) {
    self.concurrency = controller.limit();
    self.controller = Some(controller);
    self.history.clear();
    self.history.push_back((now, self.concurrency));
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
    (self.active as f64) < self.concurrency
  }

  fn alloc(&mut self, state: State, payload: Option<T>, now: u64, parent: u32) -> u32 {
    let parent = self.parent_ref(parent);
    let id = match self.free.pop() {
      Some(id) => id,
      None => {
        self.slots.push(Slot {
          state: State::Free,
          generation: 0,
          payload: None,
          since: 0,
          parent: (NO_ID, 0),
          queued_children: 0,
          deadline_armed: false,
        });
        (self.slots.len() - 1) as u32
      }
    };
    let s = &mut self.slots[id as usize];
    s.generation = s.generation.wrapping_add(1);
    s.state = state;
    s.payload = payload;
    s.since = now;
    s.parent = parent;
    s.queued_children = 0;
    s.deadline_armed = false;
    id
  }

  fn parent_ref(&self, parent: u32) -> (u32, u32) {
    match self.slots.get(parent as usize) {
      Some(p) if p.state == State::Running => (parent, p.generation),
      _ => (NO_ID, 0),
    }
  }

  fn release_slot(&mut self, id: u32) {
    let s = &mut self.slots[id as usize];
    s.state = State::Free;
    s.payload = None;
    self.free.push(id);
  }

  /// Starts a task at once when a slot is free and nothing waits; returns its id
  /// (`NO_ID` in an untracked pool), or None when the task must be queued.
  pub fn try_start_now(&mut self, now: u64, parent: u32) -> Option<u32> {
    if self.pending > 0 || !self.has_room() {
      return None;
    }
    self.active += 1;
    if !self.tracked {
      return Some(NO_ID);
    }
    self.stats.on_start(now, 0);
    Some(self.alloc(State::Running, None, now, parent))
  }

  /// Queues a task behind the others of its priority. Returns its id (`NO_ID` when untracked).
  pub fn enqueue(&mut self, priority: i32, payload: T, now: u64, parent: u32) -> u32 {
    if !self.tracked {
      self.enqueue_run(payload, 1);
      return NO_ID;
    }
    let id = self.alloc(State::Queued, Some(payload), now, parent);
    let generation = self.slots[id as usize].generation;
    let (p, _) = self.slots[id as usize].parent;
    if p != NO_ID {
      let ps = &mut self.slots[p as usize];
      ps.queued_children += 1;
      if ps.queued_children == 1 {
        self.blocked += 1;
      }
    }
    let at = self.buckets.partition_point(|b| b.priority > priority);
    if self.buckets.get(at).is_none_or(|b| b.priority != priority) {
      self.buckets.insert(at, Bucket { priority, ids: VecDeque::new() });
    }
    self.buckets[at].ids.push_back((id, generation));
    self.pending += 1;
    self.last_id = id;
    id
  }

  /// The id the last `enqueue` returned.
  pub fn last_id(&self) -> u32 {
    self.last_id
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
    let room = (self.concurrency - self.active as f64).max(0.0);
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
    if p == NO_ID {
      return;
    }
    let ps = &mut self.slots[p as usize];
    if ps.state == State::Running && ps.generation == g && ps.queued_children > 0 {
      ps.queued_children -= 1;
      if ps.queued_children == 0 {
        self.blocked -= 1;
      }
    }
  }

  fn pop_queued(&mut self) -> Option<u32> {
    for b in self.buckets.iter_mut() {
      while let Some((id, generation)) = b.ids.pop_front() {
        let s = &self.slots[id as usize];
        if s.state == State::Queued && s.generation == generation {
          return Some(id);
        }
      }
    }
    None
  }

  /// Starts the next queued task if a slot is free: returns its id (`NO_ID` when untracked) and
  /// payload. Call in a loop to drain after raising the concurrency.
  pub fn start_next(&mut self, now: u64) -> Option<(u32, T)> {
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
    self.stats.on_start(now, waited);
    Some((id, payload))
  }

  /// A running task settled (or was abandoned by abort or timeout). `id` is `NO_ID` when untracked.
  /// Returns false when `id` is not a running task (already finished).
  pub fn finish(&mut self, id: u32, outcome: Outcome, now: u64) -> bool {
    if id == NO_ID {
      if self.tracked || self.active == 0 {
        return false;
      }
      self.active -= 1;
      return true;
    }
    match self.slots.get(id as usize) {
      Some(s) if s.state == State::Running => {}
      _ => return false,
    }
    let inflight = self.active;
    self.active -= 1;
    let s = &mut self.slots[id as usize];
    let ran = now.saturating_sub(s.since);
    if s.queued_children > 0 {
      s.queued_children = 0;
      self.blocked -= 1;
    }
    let had_deadline = s.deadline_armed;
    self.release_slot(id);
    if had_deadline {
      let slots = &self.slots;
      self.deadlines.disarm(|i, g| live_deadline(slots, i, g));
    }
    self.stats.on_finish(now, ran, outcome == Outcome::Fulfilled, outcome == Outcome::Dropped);
    self.observe(ran, inflight, outcome, now);
    true
  }

  /// Removes a queued task (its signal aborted); returns its payload, or None if it is not queued.
  pub fn remove(&mut self, id: u32) -> Option<T> {
    match self.slots.get(id as usize) {
      Some(s) if s.state == State::Queued => {}
      _ => return None,
    }
    self.pending -= 1;
    self.child_left_queue(id);
    let payload = self.slots[id as usize].payload.take();
    self.release_slot(id);
    payload
  }

  /// Empties the queue; returns the removed tasks in the order they would have started (one
  /// element per run in an untracked pool).
  pub fn clear(&mut self) -> Vec<(u32, T)> {
    if !self.tracked {
      self.pending = 0;
      return self.fifo.drain(..).map(|(payload, _)| (NO_ID, payload)).collect();
    }
    let mut out = Vec::with_capacity(self.pending as usize);
    while let Some(id) = self.pop_queued() {
      self.child_left_queue(id);
      if let Some(p) = self.slots[id as usize].payload.take() {
        out.push((id, p));
      }
      self.release_slot(id);
    }
    self.buckets.clear();
    self.pending = 0;
    out
  }

  /// True when every slot is held by a running task that has queued a task of this same pool:
  /// if those tasks await their children, nothing can ever finish (p-limit issue #91).
  pub fn deadlocked(&self) -> bool {
    self.pending > 0 && self.active > 0 && !self.has_room() && self.blocked >= self.active
  }

  /// Arms a deadline `after` ns from now for running task `id`; true when it is the earliest.
  pub fn arm_deadline(&mut self, id: u32, after: u64, now: u64) -> bool {
    let Some(s) = self.slots.get_mut(id as usize) else {
      return false;
    };
    if s.state != State::Running || s.deadline_armed {
      return false;
    }
    s.deadline_armed = true;
    let generation = s.generation;
    self.deadlines.arm(now.saturating_add(after), id, generation)
  }

  /// Running tasks whose deadline has passed. They stay running until `finish`.
  pub fn expire(&mut self, now: u64) -> Vec<u32> {
    let slots = &self.slots;
    let due = self.deadlines.expire(now, |i, g| live_deadline(slots, i, g));
    for &id in &due {
      self.slots[id as usize].deadline_armed = false;
    }
    due
  }

  /// Nanoseconds until the earliest live deadline, if any.
  pub fn next_deadline_in(&mut self, now: u64) -> Option<u64> {
    let slots = &self.slots;
    self.deadlines.next(|i, g| live_deadline(slots, i, g)).map(|at| at.saturating_sub(now))
  }

  pub fn stats(&mut self, now: u64) -> StatsSnapshot {
    self.stats.snapshot(now)
  }
  pub fn reset_stats(&mut self, now: u64) {
    self.stats.reset(now);
  }
}

fn live_deadline<T>(slots: &[Slot<T>], id: u32, generation: u32) -> bool {
  slots.get(id as usize).is_some_and(|s| s.state == State::Running && s.generation == generation && s.deadline_armed)
}

#[cfg(test)]
mod tests {
  use super::*;

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
    // The freed slot is reused; the old deque entry for `a` must not start the new task early.
    let c = p.enqueue(0, "c", 0, NO_ID);
    assert_eq!(c, a);
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
  fn deadlines_expire_running_tasks_only() {
    let mut p: PoolCore<()> = PoolCore::new(2.0, true);
    let a = p.try_start_now(0, NO_ID).unwrap();
    let b = p.try_start_now(0, NO_ID).unwrap();
    assert!(p.arm_deadline(a, 100, 0));
    assert!(!p.arm_deadline(b, 200, 0));
    assert_eq!(p.next_deadline_in(50), Some(50));
    p.finish(a, Outcome::Fulfilled, 60);
    assert_eq!(p.next_deadline_in(60), Some(140));
    assert_eq!(p.expire(150), Vec::<u32>::new());
    assert_eq!(p.expire(250), vec![b]);
    assert_eq!(p.next_deadline_in(250), None);
  }

  #[test]
  fn an_adaptive_pool_moves_its_limit_from_finished_tasks() {
    use crate::adaptive::{Algorithm, Bounds, Controller};
    let mut p: PoolCore<()> = PoolCore::new(1.0, true);
    p.set_controller(Controller::new(Algorithm::Vegas, Bounds { min: 1.0, max: 100.0, initial: 4.0 }), 0);
    assert_eq!(p.concurrency(), 4.0);
    let ms = 1_000_000u64;
    let mut now = 0;
    // Tasks that always take 50 ms with the pool full: nothing queues, so the limit grows.
    for _ in 0..40 {
      let ids: Vec<u32> = (0..p.concurrency() as u32).filter_map(|_| p.try_start_now(now, NO_ID)).collect();
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
