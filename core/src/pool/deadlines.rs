//! Task deadlines: one min-heap per pool, so JS keeps a single timer armed for the earliest one.
//!
//! Entries are cancelled lazily: a settled task leaves its entry behind, and `expire` skips entries
//! whose `(id, generation)` no longer matches a live deadline. The heap is compacted when stale
//! entries outnumber live ones, so fast tasks with long timeouts do not grow it without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Default)]
pub struct Deadlines {
  heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
  stale: usize,
}

impl Deadlines {
  /// Arms a deadline for `(id, generation)`; true when it became the earliest one.
  pub fn arm(&mut self, at: u64, id: u32, generation: u32) -> bool {
    let earliest = self.heap.peek().is_none_or(|Reverse((d, _, _))| at < *d);
    self.heap.push(Reverse((at, id, generation)));
    earliest
  }

  /// Marks one armed entry as stale (its task settled first). `is_live` says which entries remain.
  pub fn disarm(&mut self, is_live: impl Fn(u32, u32) -> bool) {
    self.stale += 1;
    if self.stale > 64 && self.stale * 2 > self.heap.len() {
      let kept: Vec<_> = self.heap.drain().filter(|Reverse((_, id, g))| is_live(*id, *g)).collect();
      self.heap = kept.into();
      self.stale = 0;
    }
  }

  /// Pops every live entry due at `now`, as ids.
  pub fn expire(&mut self, now: u64, is_live: impl Fn(u32, u32) -> bool) -> Vec<u32> {
    let mut due = Vec::new();
    while let Some(Reverse((at, id, g))) = self.heap.peek().copied() {
      if at > now {
        break;
      }
      self.heap.pop();
      if is_live(id, g) {
        due.push(id);
      } else {
        self.stale = self.stale.saturating_sub(1);
      }
    }
    due
  }

  /// The earliest deadline still in the heap (it may be stale; expiring it is then a no-op).
  pub fn next(&mut self, is_live: impl Fn(u32, u32) -> bool) -> Option<u64> {
    while let Some(Reverse((at, id, g))) = self.heap.peek().copied() {
      if is_live(id, g) {
        return Some(at);
      }
      self.heap.pop();
      self.stale = self.stale.saturating_sub(1);
    }
    None
  }

  pub fn len(&self) -> usize {
    self.heap.len()
  }

  pub fn is_empty(&self) -> bool {
    self.heap.is_empty()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn expires_in_deadline_order_and_skips_stale() {
    let mut d = Deadlines::default();
    assert!(d.arm(30, 1, 0));
    assert!(d.arm(10, 2, 0));
    assert!(!d.arm(20, 3, 0));
    let live = |id: u32, _g: u32| id != 3;
    assert_eq!(d.expire(25, live), vec![2]);
    assert_eq!(d.next(live), Some(30));
    assert_eq!(d.expire(100, live), vec![1]);
    assert!(d.is_empty());
  }

  #[test]
  fn compaction_bounds_the_heap() {
    let mut d = Deadlines::default();
    for i in 0..10_000u32 {
      d.arm(1_000_000 + i as u64, i, 0);
      d.disarm(|_, _| false);
    }
    assert!(d.len() < 200, "heap kept {} stale entries", d.len());
  }
}
