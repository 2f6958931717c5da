//! The callback bridge's registry: every function wrapped by `promisify`/`callbackify`, keyed by
//! name, with counts of the misuses seen (a callback fired synchronously inside the call, a
//! callback fired again after the outcome was settled, an error that would have been lost) and
//! the policy that decides which misuses warn. Pure Rust.

use std::collections::HashMap;

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
  pub fn from_code(code: u32) -> Option<Misuse> {
    match code {
      0 => Some(Misuse::SyncCallback),
      1 => Some(Misuse::DoubleCallback),
      2 => Some(Misuse::DroppedError),
      _ => None,
    }
  }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
  pub sync_callbacks: u64,
  pub double_callbacks: u64,
  pub dropped_errors: u64,
}

#[derive(Default)]
pub struct Registry {
  ids: HashMap<String, u32>,
  entries: Vec<(String, Counts)>,
}

/// Warn on each of the first `EVERY_UP_TO` occurrences per function and kind, then on
/// occurrences 16, 32, 64, …: a misbehaving API never goes unreported, nor floods the log.
const EVERY_UP_TO: u64 = 10;

fn worth_warning(n: u64) -> bool {
  n <= EVERY_UP_TO || n.is_power_of_two()
}

impl Registry {
  /// The id of the function named `name` (functions of the same name share one entry).
  pub fn register(&mut self, name: &str) -> u32 {
    if let Some(&id) = self.ids.get(name) {
      return id;
    }
    let id = self.entries.len() as u32;
    self.entries.push((name.to_owned(), Counts::default()));
    self.ids.insert(name.to_owned(), id);
    id
  }

  /// Counts a misuse; returns the count so far, and whether it deserves a warning (sync
  /// callbacks never do: the bridge already makes them safe).
  pub fn record(&mut self, id: u32, kind: Misuse) -> Option<(u64, bool)> {
    let (_, counts) = self.entries.get_mut(id as usize)?;
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
    if let Some((_, counts)) = self.entries.get_mut(id as usize) {
      counts.sync_callbacks += n;
    }
  }

  /// Functions with at least one misuse, in registration order.
  pub fn snapshot(&self) -> Vec<(String, Counts)> {
    self.entries.iter().filter(|(_, c)| *c != Counts::default()).cloned().collect()
  }

  pub fn reset(&mut self) {
    for (_, c) in &mut self.entries {
      *c = Counts::default();
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
}
