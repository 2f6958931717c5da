//! The fleet room: one pool limit shared by a fleet of processes through Redis, napi-free.
//!
//! - [`protocol`]: the keys, the one Lua script, its reply and the grant messages.
//! - [`ledger`]: one process's permits and lease, a pure state machine (no I/O, no clock).
//! - [`client`]: the Redis client on a tokio runtime thread of its own.
//! - [`wire`]: the codes and the `fleetStats()` layout JS reads.
//!
//! # The protocol
//! Each limiter `key` has five keys and a channel, all `async-shape:{key}:…` (one hash tag: Redis
//! Cluster puts them on one node, so one script can touch them all): `holders` (ZSET, process →
//! lease expiry), `permits` (HASH, process → permits held), `queue` (ZSET, process → priority then
//! ticket), `wants` (HASH, process → permits still wanted), `meta` (HASH: `used`, `ticket`,
//! `seq`), and the channel `grants`. A process is a random 128-bit id in hex, with its pid.
//!
//! Every transition is one call of one script (`protocol::SYNC_LUA`, `SCRIPT LOAD`ed once per
//! connection, called with `EVALSHA`, reloaded on `NOSCRIPT`), atomic in Redis:
//! 1. time is Redis's `TIME`, never a client's clock;
//! 2. reap: holders whose lease expired lose their permits (back to the pool), their queue entry
//!    and their registration;
//! 3. release the permits the caller gives back;
//! 4. renew the caller's lease (now + lease), or unregister it (`leave`);
//! 5. queue the caller for `want - held` more permits, keeping its ticket, or taking a new one
//!    (`requeue`: it gave permits back because others waited, so it goes behind them);
//! 6. serve the queue head-first (highest priority, then lowest ticket) while `used < limit`;
//! 7. bump `seq`; publish `seq qlen (pid count queued)*` when it granted permits to other
//!    processes or queued the caller (so holders learn someone waits);
//! 8. reply `{held, seq, qlen, queued, holders, used, existed, time}`.
//!
//! The client keeps one call in flight, so what piles up meanwhile goes in the next call (the
//! batching that makes a busy fleet cost far fewer calls than tasks). A waiting process learns of
//! its grant from the message, read even while its own call is in flight: a hand-off is one
//! release script plus one pub/sub delivery, no polling. Replies are absolute (the process's
//! count in Redis) and `seq` orders them against messages (which come on the other connection),
//! so a missed or late message is reconciled by the next reply, at the latest the heartbeat.
//!
//! Batching and fairness: a process asks for `min(local demand, limit)` permits. While nobody else
//! waits in the fleet queue, a freed permit starts its next queued task (no round trip). Once
//! someone does, the process keeps re-using its permits for one time slice (`quantumMs`, 10 ms by
//! default, counted from when it saw them wait or from its last grant, whichever is later), then
//! each freed permit goes back and the process re-queues behind the others with a new ticket: no
//! process starves, and a busy fleet rotates the permits in slices instead of one round trip per
//! task. Idle permits go back after a linger (50 ms by default), at once when someone waits. The
//! batch size thus adapts to the load: a lone busy process keeps `limit` permits and makes one
//! call per lease/3 (the heartbeat); under contention each call carries the permits freed while
//! the previous call was in flight, and the slice bounds how often permits change hands (4
//! processes at limit 32 with 1 ms tasks: about 0.01 script calls per task).
//!
//! Leases: the heartbeat (every lease/3) renews the lease, but only while the JS thread has run
//! within half a lease (a stalled event loop must lose its permits). The client keeps a local
//! deadline, send time of the last successful renewal + lease − margin (a tenth, 1..500 ms); past
//! it, it fences: the cap drops to 0 and `EVENT_LEASE_LOST` tells JS to abort the running tasks'
//! signals. A reply that finds the process unregistered (reaped, or Redis restarted without its
//! state) fences too, and the same call registers it again (`EVENT_LEASE_REGAINED`). Grants are
//! used only under a lease a reply vouched for, and a reply that arrives after its lease could
//! have run out (send time + lease − margin) starts nothing until the next call (made at once).
//! `ledger.rs`'s model test checks, against a Redis whose replies and messages interleave
//! freely and whose leases run out, that the permits in use never exceed Redis's count.
//!
//! Redis down: reconnect with exponential backoff (50 ms doubling to 2 s, ± 50 % jitter), each
//! attempt bounded by the connect timeout. `STORE_DOWN_WAIT` keeps using the permits leased until
//! the local deadline, then nothing (the limit holds); `STORE_DOWN_LOCAL` runs under the local
//! limit meanwhile (the fleet limit may be exceeded). After a restart that lost the state, every
//! process re-registers on its next call (at most a heartbeat later), so the limit may be exceeded
//! for at most that long (< one lease TTL) by processes still using permits of the old state.
//!
//! The keys stay in Redis when every process has left (a few small entries per limiter; `meta`
//! keeps the ticket and seq counters); deleting them while no process runs is safe.
//!
//! Exit: `close()` gives everything back and unregisters (`leave`); the addon also does so from an
//! env cleanup hook and at `exit()` (200 ms bound); a SIGKILLed process's permits return when its
//! lease expires (within the TTL).

pub mod client;
pub mod ledger;
pub mod protocol;
pub mod wire;

#[cfg(test)]
mod tests;
