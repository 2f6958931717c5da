//! The rules of the cancelling combinators (`all`, `allSettled`, `race`, `any`): which tasks start
//! and when (in input order, under a concurrency limit), who won, when the group is decided, and
//! which tasks are left running and must be aborted. Pure Rust; JS (`lib/combinators/group.js`)
//! holds the tasks, their results and their AbortControllers, and the addon (`src/combinators.rs`)
//! exposes a [`Group`] per handle.

/// This room's part of the wire protocol (see `crate::wire`): the policy a group is made with, and
/// the one number `settle` answers.
pub mod wire {
  use super::Policy;

  crate::wire_table! {
    /// `create(policy, …)`: `Promise.all`'s rules.
    ALL: u32 = Policy::All as u32;
    /// `create(policy, …)`: `Promise.allSettled`'s rules.
    ALL_SETTLED: u32 = Policy::AllSettled as u32;
    /// `create(policy, …)`: `Promise.race`'s rules.
    RACE: u32 = Policy::Race as u32;
    /// `create(policy, …)`: `Promise.any`'s rules.
    ANY: u32 = Policy::Any as u32;
    /// `create(…, concurrency)`: no limit on the tasks running at once.
    NO_LIMIT: u32 = 0;
    /// `settle` (an index >= 0 is the next task to start): wait for other tasks.
    WAIT: i32 = -1;
    /// `settle`: decided; fulfil (with every result, or the winner's value).
    FULFIL: i32 = -2;
    /// `settle`: decided; reject with the outcome of the task that just settled.
    REJECT_WITH_THIS: i32 = -3;
    /// `settle`: decided; reject with every task's error (`any`: an AggregateError).
    REJECT_ALL: i32 = -4;
    /// `settle`: ignored; the task was no longer running (timed out, or aborted after the verdict).
    IGNORED: i32 = -5;
    /// `armDeadline`, `nextDeadline`: no deadline to arm a timer for (the pool's, one
    /// definition: `lib/internal/deadline-timer.js` reads it for both rooms).
    NO_DEADLINE: f64 = crate::pool::wire::NO_DEADLINE;
    /// `settle(h, i, outcome)`: task `i` fulfilled.
    TASK_FULFILLED: u32 = 1;
    /// `settle(h, i, outcome)`: task `i` rejected (any code other than `TASK_FULFILLED`).
    TASK_REJECTED: u32 = 0;
    /// `abort(h)`: the outer signal's abort decided the group (it was not decided yet).
    ABORT_DECIDED: u32 = 1;
    /// `abort(h)`: the group was decided already (or is gone); nothing changed.
    ABORT_UNDECIDED: u32 = 0;
  }
}

use crate::pool::deadlines::Deadlines;

/// A group's rules; its discriminants are the wire codes ([`wire::ALL`], …).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
  /// Fulfils when every task fulfils; rejects with the first rejection.
  All = 0,
  /// Fulfils when every task has settled.
  AllSettled = 1,
  /// Settles like the first task to settle.
  Race = 2,
  /// Fulfils with the first fulfilment; rejects when every task rejected.
  Any = 3,
}

impl Policy {
  /// The policy of a wire code; `None` for an unknown one.
  pub fn from_code(code: u32) -> Option<Policy> {
    match code {
      wire::ALL => Some(Policy::All),
      wire::ALL_SETTLED => Some(Policy::AllSettled),
      wire::RACE => Some(Policy::Race),
      wire::ANY => Some(Policy::Any),
      _ => None,
    }
  }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
  Waiting,
  Running,
  Fulfilled,
  Rejected,
}

/// What the group's promise does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
  Pending,
  /// Fulfil: with every result (`all`, `allSettled`) or with the winner's value (`race`, `any`).
  Fulfil,
  /// Reject with the outcome of the task that settled last (`all`'s first rejection, a `race`
  /// won by a rejection).
  RejectWithThis,
  /// Reject with every task's error, in input order (`any` when all rejected).
  RejectAll,
  /// Reject with the outer signal's reason.
  Aborted,
}

/// After a settlement: the verdict, if it just changed, or the next task to start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
  Decided(Verdict),
  Start(u32),
  Wait,
  /// The task was not running (it timed out, or the group was decided and it was aborted): its
  /// outcome is not the group's.
  Ignored,
}

impl Step {
  /// The one number `settle` answers JS: the index of the task to start, or a code of [`wire`].
  /// A verdict JS never sees from `settle` (`Pending`, `Aborted`: the outer signal decides
  /// through `abort`) reads as [`wire::WAIT`].
  pub fn code(self) -> f64 {
    match self {
      Step::Start(j) => f64::from(j),
      Step::Wait => f64::from(wire::WAIT),
      Step::Ignored => f64::from(wire::IGNORED),
      Step::Decided(Verdict::Fulfil) => f64::from(wire::FULFIL),
      Step::Decided(Verdict::RejectWithThis) => f64::from(wire::REJECT_WITH_THIS),
      Step::Decided(Verdict::RejectAll) => f64::from(wire::REJECT_ALL),
      Step::Decided(Verdict::Pending | Verdict::Aborted) => f64::from(wire::WAIT),
    }
  }
}

pub struct Group {
  policy: Policy,
  states: Vec<State>,
  concurrency: u32,
  next: u32,
  running: u32,
  fulfilled: u32,
  rejected: u32,
  verdict: Verdict,
  deadlines: Deadlines,
}

impl Group {
  /// `concurrency` [`wire::NO_LIMIT`] (0) means no limit. An empty group is decided at once (`race` callers reject
  /// an empty input before making a group).
  pub fn new(policy: Policy, n: u32, concurrency: u32) -> Group {
    let mut g = Group {
      policy,
      states: vec![State::Waiting; n as usize],
      concurrency: if concurrency == wire::NO_LIMIT { u32::MAX } else { concurrency },
      next: 0,
      running: 0,
      fulfilled: 0,
      rejected: 0,
      verdict: Verdict::Pending,
      deadlines: Deadlines::default(),
    };
    if n == 0 {
      g.verdict = match policy {
        Policy::Any => Verdict::RejectAll,
        _ => Verdict::Fulfil,
      };
    }
    g
  }

  pub fn len(&self) -> u32 {
    self.states.len() as u32
  }

  pub fn is_empty(&self) -> bool {
    self.states.is_empty()
  }

  pub fn verdict(&self) -> Verdict {
    self.verdict
  }

  /// Starts the first tasks: returns how many, from index 0 (then 1, 2, …).
  pub fn start_initial(&mut self) -> u32 {
    let mut k = 0;
    while self.verdict == Verdict::Pending && self.running < self.concurrency && self.next < self.len() {
      self.states[self.next as usize] = State::Running;
      self.next += 1;
      self.running += 1;
      k += 1;
    }
    k
  }

  /// Task `i` settled. Late settlements (after the verdict) change nothing.
  pub fn settle(&mut self, i: u32, ok: bool) -> Step {
    let Some(state) = self.states.get_mut(i as usize) else {
      return Step::Ignored;
    };
    if *state != State::Running {
      return Step::Ignored;
    }
    *state = if ok { State::Fulfilled } else { State::Rejected };
    self.running -= 1;
    if ok {
      self.fulfilled += 1;
    } else {
      self.rejected += 1;
    }
    if self.verdict != Verdict::Pending {
      return Step::Ignored;
    }
    let n = self.len();
    let verdict = match (self.policy, ok) {
      (Policy::All, false) => Verdict::RejectWithThis,
      (Policy::All, true) if self.fulfilled == n => Verdict::Fulfil,
      (Policy::AllSettled, _) if self.fulfilled + self.rejected == n => Verdict::Fulfil,
      (Policy::Race, true) => Verdict::Fulfil,
      (Policy::Race, false) => Verdict::RejectWithThis,
      (Policy::Any, true) => Verdict::Fulfil,
      (Policy::Any, false) if self.rejected == n => Verdict::RejectAll,
      _ => Verdict::Pending,
    };
    if verdict != Verdict::Pending {
      self.verdict = verdict;
      return Step::Decided(verdict);
    }
    if self.next < n && self.running < self.concurrency {
      let j = self.next;
      self.states[j as usize] = State::Running;
      self.next += 1;
      self.running += 1;
      return Step::Start(j);
    }
    Step::Wait
  }

  /// The outer signal aborted: decided, unless it already was.
  pub fn abort(&mut self) -> bool {
    if self.verdict != Verdict::Pending {
      return false;
    }
    self.verdict = Verdict::Aborted;
    true
  }

  /// Tasks still running: after the verdict, the ones to abort.
  pub fn running(&self) -> Vec<u32> {
    (0..self.len()).filter(|&i| self.states[i as usize] == State::Running).collect()
  }

  /// Arms a deadline for running task `i`; true when it is the earliest.
  pub fn arm_deadline(&mut self, i: u32, at: u64) -> bool {
    self.deadlines.arm(at, i, 0)
  }

  /// Running tasks whose deadline has passed. Each one settles as rejected (a timeout) in the
  /// same step; `settle` is then called by JS with the TimeoutError for the verdict.
  pub fn expire(&mut self, now: u64) -> Vec<u32> {
    let states = &self.states;
    self.deadlines.expire(now, |i, _| states.get(i as usize) == Some(&State::Running))
  }

  pub fn next_deadline(&mut self) -> Option<u64> {
    let states = &self.states;
    self.deadlines.next(|i, _| states.get(i as usize) == Some(&State::Running))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn all_rejects_on_first_failure_and_starts_nothing_more() {
    let mut g = Group::new(Policy::All, 5, 2);
    assert_eq!(g.start_initial(), 2);
    assert_eq!(g.settle(0, true), Step::Start(2));
    assert_eq!(g.settle(1, false), Step::Decided(Verdict::RejectWithThis));
    assert_eq!(g.running(), vec![2], "task 2 runs and must be aborted");
    assert_eq!(g.settle(2, true), Step::Ignored, "nothing starts after the verdict");
    assert_eq!(g.running(), Vec::<u32>::new());
  }

  #[test]
  fn all_and_all_settled_fulfil_when_complete() {
    let mut g = Group::new(Policy::All, 3, 0);
    assert_eq!(g.start_initial(), 3);
    assert_eq!(g.settle(2, true), Step::Wait);
    assert_eq!(g.settle(0, true), Step::Wait);
    assert_eq!(g.settle(1, true), Step::Decided(Verdict::Fulfil));
    let mut s = Group::new(Policy::AllSettled, 2, 1);
    assert_eq!(s.start_initial(), 1);
    assert_eq!(s.settle(0, false), Step::Start(1));
    assert_eq!(s.settle(1, true), Step::Decided(Verdict::Fulfil));
  }

  #[test]
  fn race_is_won_by_a_rejection_too() {
    let mut g = Group::new(Policy::Race, 3, 0);
    g.start_initial();
    assert_eq!(g.settle(1, false), Step::Decided(Verdict::RejectWithThis));
    assert_eq!(g.running(), vec![0, 2]);
  }

  #[test]
  fn any_waits_for_a_fulfilment_or_all_rejections() {
    let mut g = Group::new(Policy::Any, 3, 0);
    g.start_initial();
    assert_eq!(g.settle(0, false), Step::Wait);
    assert_eq!(g.settle(2, true), Step::Decided(Verdict::Fulfil));
    assert_eq!(g.running(), vec![1]);
    let mut h = Group::new(Policy::Any, 2, 0);
    h.start_initial();
    h.settle(0, false);
    assert_eq!(h.settle(1, false), Step::Decided(Verdict::RejectAll));
  }

  #[test]
  fn empty_groups_are_decided_at_once() {
    assert_eq!(Group::new(Policy::All, 0, 0).verdict(), Verdict::Fulfil);
    assert_eq!(Group::new(Policy::AllSettled, 0, 0).verdict(), Verdict::Fulfil);
    assert_eq!(Group::new(Policy::Any, 0, 0).verdict(), Verdict::RejectAll);
  }

  #[test]
  fn abort_decides_once_and_leaves_the_running_to_abort() {
    let mut g = Group::new(Policy::AllSettled, 4, 2);
    g.start_initial();
    assert!(g.abort());
    assert!(!g.abort());
    assert_eq!(g.running(), vec![0, 1]);
    assert_eq!(g.settle(0, true), Step::Ignored);
  }

  #[test]
  fn policies_and_steps_speak_the_wire_codes() {
    for policy in [Policy::All, Policy::AllSettled, Policy::Race, Policy::Any] {
      assert_eq!(Policy::from_code(policy as u32), Some(policy));
    }
    assert_eq!(Policy::from_code(4), None);
    assert_eq!(Step::Start(7).code(), 7.0);
    let codes = [
      Step::Wait.code(),
      Step::Ignored.code(),
      Step::Decided(Verdict::Fulfil).code(),
      Step::Decided(Verdict::RejectWithThis).code(),
      Step::Decided(Verdict::RejectAll).code(),
    ];
    assert!(codes.iter().all(|&c| c < 0.0), "a code never reads as a task index");
    let distinct: std::collections::HashSet<u64> = codes.iter().map(|c| c.to_bits()).collect();
    assert_eq!(distinct.len(), codes.len());
  }

  #[test]
  fn deadlines_expire_running_tasks() {
    let mut g = Group::new(Policy::AllSettled, 2, 0);
    g.start_initial();
    assert!(g.arm_deadline(0, 100));
    assert!(!g.arm_deadline(1, 200));
    g.settle(0, true);
    assert_eq!(g.next_deadline(), Some(200));
    assert_eq!(g.expire(250), vec![1]);
  }
}
