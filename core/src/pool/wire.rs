//! The pool room's part of the wire protocol (see `crate::wire`): every number that crosses
//! between `lib/pool/{limit,pool}.js` and the addon's pool functions (`src/pool.rs`) and means
//! more than itself. JS reads them once, at load, with `room('pool')` (`lib/internal/wire.js`).

crate::wire_table! {
  /// How a running task ended, as JS passes it to `finish(token, outcome)` and
  /// `releaseTimed(ms, outcome)` (the discriminants of [`Outcome`](super::scheduler::Outcome)):
  /// it fulfilled.
  FULFILLED: u32 = 0;
  /// It rejected or timed out (any code other than these three reads as this one).
  REJECTED: u32 = 1;
  /// It marked itself dropped (refused by the downstream): congestion, not a success.
  DROPPED: u32 = 2;

  /// What `finish(token, outcome)` returns when the token is not a running task's (it finished
  /// already, or the token is stale): nothing changed.
  NOT_RUNNING: u32 = 0;
  /// What `finish` and `releaseTimed` return when the task's slot was freed (and what it allows
  /// started).
  FREED: u32 = 1;
  /// What `finish` and `releaseTimed` return when the slot was freed and an adaptive limit changed
  /// (JS calls the `onLimitChange` hook).
  LIMIT_CHANGED: u32 = 2;

  /// The rejection reason of a gate whose task `clear()` dropped without a reason: the task's
  /// promise is left pending (p-limit's `clearQueue()` without `rejectOnClear`).
  LEFT_PENDING: u32 = 0;
  /// The name of an untracked pool's task queued without one (by `submitPlain()`): JS names the
  /// tasks it queues with `submitPlain(name)` from `UNNAMED + 1` up.
  UNNAMED: u32 = 0;
  /// `clear()` reports an untracked pool's task named `n` as `CLEARED_NAME_BASE - n` (see
  /// [`cleared_name`]; an unnamed one as `CLEARED_NAME_BASE` itself), and a batch by its id, never
  /// negative: an element at or below `CLEARED_NAME_BASE` is the task named
  /// `CLEARED_NAME_BASE - element`.
  CLEARED_NAME_BASE: f64 = -1.0;

  /// What `armDeadline` and `nextDeadline` return instead of a number of ms: no deadline to arm
  /// a timer for.
  NO_DEADLINE: f64 = -1.0;
  /// The longest delay a Node timer takes (2^31 - 1 ms): a longer timeout means none, and
  /// `armDeadline` clamps to it. Also the bound of the event-loop monitor's intervals.
  MAX_TIMER_MS: f64 = 2_147_483_647.0;

  /// A tracked task's token is `slot · TOKEN_SLOT_UNIT + generation` (generation below
  /// `TOKEN_SLOT_UNIT`): JS finds a task's record at `Math.floor(token / TOKEN_SLOT_UNIT)`.
  TOKEN_SLOT_UNIT: u64 = 1 << TOKEN_GENERATION_BITS;
  /// The bits of a token's generation.
  TOKEN_GENERATION_BITS: u32 = 21;

  /// The adaptive algorithms, as `createPool`'s `adaptive.algorithm` names them (the
  /// discriminants of [`Algorithm`](super::adaptive::Algorithm)): Vegas (the default).
  VEGAS: u32 = 0;
  /// Gradient (Netflix's Gradient2).
  GRADIENT: u32 = 1;
  /// AIMD.
  AIMD: u32 = 2;

  /// `adaptiveInfo().history` is a list of `[time, limit]` pairs: the time since the pool's start
  /// in ms at this index,
  HISTORY_TIME: usize = 0;
  /// the limit set then at this one,
  HISTORY_LIMIT: usize = 1;
  /// in pairs of this length.
  HISTORY_PAIR_LEN: usize = 2;
}

/// How `clear()` reports an untracked pool's task named `name` (see [`CLEARED_NAME_BASE`]):
/// below every batch id, and exact in an f64 for every u32 name.
pub fn cleared_name(name: u32) -> f64 {
  CLEARED_NAME_BASE - f64::from(name)
}

/// The name of the task `clear()` reported as `element`, or `None` for a batch id.
pub fn name_of_cleared(element: f64) -> Option<u32> {
  (element <= CLEARED_NAME_BASE).then_some((CLEARED_NAME_BASE - element) as u32)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn cleared_names_round_trip_below_every_batch_id() {
    for name in [UNNAMED, UNNAMED + 1, 12_345, u32::MAX] {
      let element = cleared_name(name);
      assert!(element < 0.0, "below every batch id (u32s)");
      assert_eq!(name_of_cleared(element), Some(name));
    }
    assert_eq!(cleared_name(UNNAMED), -1.0, "the encoding lib/pool/limit.js decodes");
    assert_eq!(name_of_cleared(0.0), None);
    assert_eq!(name_of_cleared(f64::from(u32::MAX)), None);
  }
}
