//! The fleet room's part of the wire protocol (see `crate::wire`): the codes and the layout that
//! cross between `lib/fleet/**` and the addon's shared-pool functions (`src/fleet.rs`,
//! `src/pool.rs`). JS reads them once, at load, with `room('fleet')` (`lib/internal/wire.js`).

crate::wire_table! {
  /// `shared.onStoreDown`: while Redis cannot be reached, start nothing beyond the permits still
  /// leased and alive (the default: the fleet limit is never exceeded).
  STORE_DOWN_WAIT: u32 = 0;
  /// `shared.onStoreDown`: while Redis cannot be reached, run under `shared.localConcurrency`
  /// alone (the fleet limit may then be exceeded).
  STORE_DOWN_LOCAL: u32 = 1;

  /// `onEvent(kind, detail?)`: Redis stopped answering (detail: the cause).
  EVENT_STORE_DOWN: u32 = 1;
  /// Redis answers again.
  EVENT_STORE_UP: u32 = 2;
  /// The lease ran out before it was renewed (or Redis forgot this process): the pool starts
  /// nothing until it is registered again, and JS aborts the signals of its running tasks.
  EVENT_LEASE_LOST: u32 = 3;
  /// Registered again after `EVENT_LEASE_LOST`: tasks start as permits are granted.
  EVENT_LEASE_REGAINED: u32 = 4;
  /// A permanent failure (wrong password, ACL, a script error; detail: the message): JS rejects
  /// every queued task and every later one with it. Nothing is retried.
  EVENT_FATAL: u32 = 5;

  /// `fleetStats()` is a Float64Array of `STAT_LEN` numbers: the fleet limit at this index,
  STAT_LIMIT: usize = 0;
  /// the permits this process holds (what its tasks may use),
  STAT_HELD: usize = 1;
  /// the processes holding permits (as of the last answer from Redis),
  STAT_HOLDERS: usize = 2;
  /// the permits held across the fleet (its tasks in flight, at most the limit),
  STAT_FLEET_IN_FLIGHT: usize = 3;
  /// the processes waiting in the fleet queue,
  STAT_FLEET_QUEUE: usize = 4;
  /// 1 while Redis answers, else 0,
  STAT_STORE_UP: usize = 5;
  /// ms until the lease runs out unless renewed (0 when none is held),
  STAT_LEASE_REMAINING_MS: usize = 6;
  /// permits granted to this process so far,
  STAT_GRANTS: usize = 7;
  /// script calls made (round trips to Redis),
  STAT_ROUND_TRIPS: usize = 8;
  /// the longest wait of this process for a permit, in ms (from wanting one to its grant),
  STAT_MAX_WAIT_MS: usize = 9;
  /// how many times the lease was lost (fencing),
  STAT_FENCED: usize = 10;
  /// permits returned to the fleet so far,
  STAT_RETURNED: usize = 11;
  /// 1 once registered (`ready()` resolved), else 0,
  STAT_READY: usize = 12;
  /// and the array's length.
  STAT_LEN: usize = 13;
}
