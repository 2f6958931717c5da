//! async-shape's Node addon: the napi glue over `async-shape-core` (`core/`), which owns every
//! queue, counter, limit, timer and statistic and cannot name napi (it is not its dependency).
//!
//! Rooms, named as in the core and in the JS layer (`lib/`):
//! - [`pool`]: `createPool`, the raw method table behind `pLimit` and `Pool`.
//! - [`combinators`]: the group behind `all`/`allSettled`/`race`/`any`.
//! - [`bridge`]: the promisify/callbackify registry.
//! - [`event_loop`]: the libuv check/timer handles on the host's libuv, the watchdog, stalls.
//! - [`fleet`]: a pool limit shared by a fleet through Redis (`createPool`'s `shared`).
//! - [`downstream`]: the CLI's built-in downstream server.
//! - [`histogram`]: the histogram the CLI records latencies in.
//! - [`wire`]: the protocol's constants, exported once for `lib/internal/wire.js`.
//!
//! [`napi_raw`] holds every raw `napi::sys` helper (value conversion, argument reading, the
//! method-table builder, checked statuses); [`diagnostics`] serves the benchmarks and tests.

pub mod bridge;
pub mod combinators;
pub mod diagnostics;
pub mod downstream;
pub mod event_loop;
pub mod fleet;
pub mod histogram;
mod napi_raw;
pub mod pool;
pub mod wire;
