//! The callback bridge's registry: every function wrapped by `promisify`/`callbackify`, keyed by
//! name, with counts of the misuses seen (a callback fired synchronously inside the call, a
//! callback fired again after the outcome was settled, an error that would have been lost) and
//! the policy that decides which misuses warn. Pure Rust; the addon (`src/bridge.rs`) holds one
//! per JS thread for `lib/bridge/bridge.js`.

/// This room's part of the wire protocol (see `crate::wire`): the kinds of misuse
/// `bridgeRecord(id, kind)` counts. Its answer is a count: negated when the occurrence deserves a
/// warning, [`NOT_COUNTED`](wire::NOT_COUNTED) for an unknown id or kind.
pub mod wire {
  use super::Misuse;

  crate::wire_table! {
    /// The callback ran inside the call (Zalgo).
    SYNC_CALLBACK: u32 = Misuse::SyncCallback as u32;
    /// The callback ran again after the outcome was settled.
    DOUBLE_CALLBACK: u32 = Misuse::DoubleCallback as u32;
    /// An error would have been lost.
    DROPPED_ERROR: u32 = Misuse::DroppedError as u32;
    /// `bridgeRecord`'s answer for an unknown id or kind: nothing was counted.
    NOT_COUNTED: u32 = 0;
  }
}

use std::collections::HashMap;

/// A kind of misuse; its discriminants are the wire codes ([`wire::SYNC_CALLBACK`], …).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Misuse {
  /// The callback ran inside the call (Zalgo): counted, never warned by default.
  SyncCallback = 0,
  /// The callback ran again after the outcome was settled.
  DoubleCallback = 1,
  /// An error would have been lost (a late callback's error, a throw after the callback).
  DroppedError = 2,
}

impl Misuse {
  /// The kind of a wire code; `None` for an unknown one.
  pub fn from_code(code: u32) -> Option<Misuse> {
    match code {
      wire::SYNC_CALLBACK => Some(Misuse::SyncCallback),
      wire::DOUBLE_CALLBACK => Some(Misuse::DoubleCallback),
      wire::DROPPED_ERROR => Some(Misuse::DroppedError),
      _ => None,
    }
  }
}

/// `bridgeRecord`'s answer for [`Registry::record`]'s result: the count so far, negated when it
/// deserves a warning; [`wire::NOT_COUNTED`] when nothing was counted. A count is never 0, so the
/// three cases never meet.
pub fn record_answer(recorded: Option<(u64, bool)>) -> f64 {
  match recorded {
    Some((n, true)) => -(n as f64),
    Some((n, false)) => n as f64,
    None => f64::from(wire::NOT_COUNTED),
  }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
  pub sync_callbacks: u64,
  pub double_callbacks: u64,
  pub dropped_errors: u64,
}

/// Live names kept apart at most: beyond it, new names share one entry, `OTHER_NAME`. A program
/// that wraps many short-lived functions with distinct names (a name per request, say) would
/// otherwise grow the registry forever.
pub const MAX_NAMES: usize = 4096;
/// The entry shared by the functions wrapped while `MAX_NAMES` names were live.
pub const OTHER_NAME: &str = "(other functions)";

struct Entry {
  name: String,
  counts: Counts,
  /// Wrappers of this name not yet collected (JS releases each one from a FinalizationRegistry).
  wrappers: u64,
}

/// Entries live while a wrapper of their name is alive or while they have counts to report: a
/// name whose wrappers were all collected and that has nothing to report is forgotten, and its id
/// reused. Ids are therefore valid only while a wrapper holds them.
#[derive(Default)]
pub struct Registry {
  ids: HashMap<String, u32>,
  entries: Vec<Option<Entry>>,
  free: Vec<u32>,
  /// The id of the `OTHER_NAME` entry, once made (it is never removed).
  other: Option<u32>,
}

/// Warn on each of the first `EVERY_UP_TO` occurrences per function and kind, then on
/// occurrences 16, 32, 64, …: a misbehaving API never goes unreported, nor floods the log.
const EVERY_UP_TO: u64 = 10;

fn worth_warning(n: u64) -> bool {
  n <= EVERY_UP_TO || n.is_power_of_two()
}

impl Registry {
  fn insert(&mut self, entry: Entry) -> u32 {
    match self.free.pop() {
      Some(id) => {
        self.entries[id as usize] = Some(entry);
        id
      }
      None => {
        self.entries.push(Some(entry));
        (self.entries.len() - 1) as u32
      }
    }
  }

  /// The id for a new wrapper of the function named `name` (functions of the same name share one
  /// entry; past `MAX_NAMES` live names, new names share `OTHER_NAME`'s). Each call is balanced by
  /// one `release` when the wrapper is collected.
  pub fn register(&mut self, name: &str) -> u32 {
    if let Some(&id) = self.ids.get(name) {
      if let Some(e) = self.entries[id as usize].as_mut() {
        e.wrappers += 1;
      }
      return id;
    }
    if self.ids.len() >= MAX_NAMES {
      if let Some(id) = self.other {
        return id;
      }
      let id = self.insert(Entry { name: OTHER_NAME.to_owned(), counts: Counts::default(), wrappers: 0 });
      self.other = Some(id);
      return id;
    }
    let id = self.insert(Entry { name: name.to_owned(), counts: Counts::default(), wrappers: 1 });
    self.ids.insert(name.to_owned(), id);
    id
  }

  /// A wrapper registered under `id` was collected. Unknown ids and the shared entry are ignored.
  pub fn release(&mut self, id: u32) {
    if Some(id) == self.other {
      return;
    }
    let Some(Some(e)) = self.entries.get_mut(id as usize) else {
      return;
    };
    e.wrappers = e.wrappers.saturating_sub(1);
    if e.wrappers == 0 && e.counts == Counts::default() {
      self.remove(id);
    }
  }

  fn remove(&mut self, id: u32) {
    if let Some(e) = self.entries[id as usize].take() {
      self.ids.remove(&e.name);
      self.free.push(id);
    }
  }

  /// Entries held: the live names, the collected ones with counts still to report, and the
  /// shared entry once made.
  pub fn len(&self) -> usize {
    self.entries.len() - self.free.len()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Counts a misuse; returns the count so far, and whether it deserves a warning (sync
  /// callbacks never do: the bridge already makes them safe).
  pub fn record(&mut self, id: u32, kind: Misuse) -> Option<(u64, bool)> {
    let counts = &mut self.entries.get_mut(id as usize)?.as_mut()?.counts;
    let n = match kind {
      Misuse::SyncCallback => {
        counts.sync_callbacks += 1;
        return Some((counts.sync_callbacks, false));
      }
      Misuse::DoubleCallback => {
        counts.double_callbacks += 1;
        counts.double_callbacks
      }
      Misuse::DroppedError => {
        counts.dropped_errors += 1;
        counts.dropped_errors
      }
    };
    Some((n, worth_warning(n)))
  }

  /// Adds `n` synchronous callbacks at once (JS batches them: they never warn).
  pub fn add_sync_callbacks(&mut self, id: u32, n: u64) {
    if let Some(Some(e)) = self.entries.get_mut(id as usize) {
      e.counts.sync_callbacks = e.counts.sync_callbacks.saturating_add(n);
    }
  }

  /// Functions with at least one misuse, in id order.
  pub fn snapshot(&self) -> Vec<(String, Counts)> {
    self
      .entries
      .iter()
      .flatten()
      .filter(|e| e.counts != Counts::default())
      .map(|e| (e.name.clone(), e.counts.clone()))
      .collect()
  }

  /// Zeroes every count, and forgets the names whose wrappers were all collected.
  pub fn reset(&mut self) {
    let mut gone = Vec::new();
    for (id, slot) in self.entries.iter_mut().enumerate() {
      if let Some(e) = slot {
        e.counts = Counts::default();
        if e.wrappers == 0 && Some(id as u32) != self.other {
          gone.push(id as u32);
        }
      }
    }
    for id in gone {
      self.remove(id);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn counts_per_name_and_shares_same_names() {
    let mut r = Registry::default();
    let a = r.register("readThing");
    let b = r.register("other");
    assert_eq!(r.register("readThing"), a);
    assert_eq!(r.record(a, Misuse::SyncCallback), Some((1, false)));
    assert_eq!(r.record(a, Misuse::DoubleCallback), Some((1, true)));
    assert_eq!(r.record(b, Misuse::DroppedError), Some((1, true)));
    let snap = r.snapshot();
    assert_eq!(snap.len(), 2);
    assert_eq!(snap[0].1, Counts { sync_callbacks: 1, double_callbacks: 1, dropped_errors: 0 });
    r.add_sync_callbacks(b, 5);
    assert_eq!(r.snapshot()[1].1.sync_callbacks, 5);
    r.reset();
    assert!(r.snapshot().is_empty());
    assert_eq!(r.record(99, Misuse::SyncCallback), None);
  }

  #[test]
  fn kinds_and_answers_speak_the_wire_codes() {
    for kind in [Misuse::SyncCallback, Misuse::DoubleCallback, Misuse::DroppedError] {
      assert_eq!(Misuse::from_code(kind as u32), Some(kind));
    }
    assert_eq!(Misuse::from_code(3), None);
    assert_eq!(record_answer(None), f64::from(wire::NOT_COUNTED));
    assert_eq!(record_answer(Some((3, true))), -3.0);
    assert_eq!(record_answer(Some((3, false))), 3.0);
  }

  #[test]
  fn warnings_back_off_but_never_stop() {
    let mut r = Registry::default();
    let id = r.register("flaky");
    let warned: Vec<u64> = (1..=100)
      .filter_map(|_| r.record(id, Misuse::DoubleCallback))
      .filter(|&(_, warn)| warn)
      .map(|(n, _)| n)
      .collect();
    assert_eq!(warned, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 64]);
  }

  #[test]
  fn collected_names_are_forgotten_unless_they_have_counts() {
    let mut r = Registry::default();
    let a = r.register("short");
    let a2 = r.register("short");
    assert_eq!(a, a2);
    r.release(a);
    assert_eq!(r.len(), 1, "one wrapper of the name is still alive");
    r.release(a);
    assert_eq!(r.len(), 0, "all wrappers collected and nothing to report: forgotten");
    let b = r.register("flaky");
    r.record(b, Misuse::DoubleCallback);
    r.release(b);
    assert_eq!(r.len(), 1, "kept for its counts");
    assert_eq!(r.snapshot()[0].0, "flaky");
    r.reset();
    assert_eq!(r.len(), 0, "reported and reset: forgotten");
    r.release(b);
    r.release(12345);
    assert_eq!(r.len(), 0);
  }

  #[test]
  fn distinct_names_beyond_the_bound_share_one_entry() {
    let mut r = Registry::default();
    let ids: Vec<u32> = (0..MAX_NAMES + 100).map(|i| r.register(&format!("fn{i}"))).collect();
    assert_eq!(r.len(), MAX_NAMES + 1);
    let other = ids[MAX_NAMES];
    assert!(ids[MAX_NAMES..].iter().all(|&id| id == other));
    r.record(other, Misuse::DroppedError);
    r.record(ids[0], Misuse::DroppedError);
    let snap = r.snapshot();
    assert_eq!(snap.len(), 2);
    assert!(snap.iter().any(|(name, c)| name == OTHER_NAME && c.dropped_errors == 1));
    // Collected wrappers make room for new names again; the shared entry stays.
    for &id in &ids {
      r.release(id);
    }
    assert_eq!(r.len(), 2, "fn0 (it has counts) and the shared entry");
    let fresh = r.register("fresh");
    assert_ne!(fresh, other);
    for i in 0..1_000_000 {
      let id = r.register(&format!("churn{i}"));
      r.release(id);
    }
    assert!(r.len() <= 4, "{}", r.len());
  }
}
