//! The rules of the cancelling combinators (`all`, `allSettled`, `race`, `any`): which tasks start
//! and when (in input order, under a concurrency limit), who won, when the group is decided, and
//! which tasks are left running and must be aborted. Pure Rust; JS holds the AbortControllers.

/// This room's part of the wire protocol (see `crate::wire`).
pub mod wire {
  crate::wire_table! {}
}

use crate::pool::deadlines::Deadlines;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
  /// Fulfils when every task fulfils; rejects with the first rejection.
  All,
  /// Fulfils when every task has settled.
  AllSettled,
  /// Settles like the first task to settle.
  Race,
  /// Fulfils with the first fulfilment; rejects when every task rejected.
  Any,
}

impl Policy {
  pub fn from_code(code: u32) -> Option<Policy> {
    match code {
      0 => Some(Policy::All),
      1 => Some(Policy::AllSettled),
      2 => Some(Policy::Race),
      3 => Some(Policy::Any),
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
  /// `concurrency` 0 means no limit. An empty group is decided at once (`race` callers reject
  /// an empty input before making a group).
  pub fn new(policy: Policy, n: u32, concurrency: u32) -> Group {
    let mut g = Group {
      policy,
      states: vec![State::Waiting; n as usize],
      concurrency: if concurrency == 0 { u32::MAX } else { concurrency },
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
