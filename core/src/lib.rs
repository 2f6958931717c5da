//! async-shape's core: every queue, counter, limit, ordering, timer, statistic and decision, in
//! plain Rust. This crate does not depend on napi, so nothing here can make an N-API call: the
//! addon (the root crate, `src/`) is the only code that talks to Node, and it talks in integers.
//!
//! Rooms, named as in the addon (`src/`) and the JS layer (`lib/`):
//! - [`pool`]: the bounded pool's state machine (queue, slots, tokens, priorities, deadlines,
//!   deadlock detection), its statistics and the adaptive-concurrency controllers.
//! - [`combinators`]: the state of one `all`/`allSettled`/`race`/`any` group.
//! - [`bridge`]: the promisify/callbackify misuse registry.
//! - [`event_loop`]: event-loop sampling and the watchdog thread that sees a stall while it lasts.
//! - [`fleet`]: a pool limit shared by a fleet of processes through Redis: the protocol (Lua),
//!   the permit/lease ledger and the Redis client on its own tokio runtime thread.
//! - [`downstream`]: the CLI's built-in test server (model, simulator, HTTP server).
//! - [`histogram`]: the log-linear latency histogram the pool, the event loop and the CLI share.
//! - [`wire`]: the numeric codes and layouts that cross to JS, defined once.

pub mod bridge;
pub mod combinators;
pub mod downstream;
pub mod event_loop;
pub mod fleet;
pub mod histogram;
pub mod pool;
pub mod wire;

/// Nanoseconds on a monotonic clock since its first reading in this process: the one clock of
/// every deadline, statistic and controller.
pub fn now_ns() -> u64 {
  static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
  START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

/// The message of a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
  if let Some(s) = payload.downcast_ref::<&str>() {
    (*s).to_string()
  } else if let Some(s) = payload.downcast_ref::<String>() {
    s.clone()
  } else {
    "unknown panic".to_string()
  }
}
