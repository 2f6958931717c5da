#![deny(clippy::all)]
//! async-shape: the Rust core and its napi glue.
//!
//! Pure-Rust modules (no napi, covered by `cargo test`): `histogram`, `pool_stats`, `deadlines`,
//! `pool_core`, `group_core`, `bridge_core`, `downstream_model`, `loop_core`, `loop_watchdog`, and the built-in downstream's
//! HTTP server `downstream_server` (tokio + hyper, its own thread). The napi layer:
//! `pool_binding`, `group_binding`, `bridge_binding`, `downstream_binding`, `loop_binding` (on
//! libuv from the host binary, `uv_host`), and `diagnostics` for
//! the benchmarks.

pub mod adaptive;
pub mod bridge_binding;
pub mod bridge_core;
pub mod deadlines;
pub mod diagnostics;
pub mod downstream_binding;
pub mod downstream_model;
pub mod downstream_server;
pub mod downstream_sim;
pub mod group_binding;
pub mod group_core;
pub mod histogram;
pub mod histogram_binding;
pub mod loop_binding;
pub mod loop_core;
pub mod loop_watchdog;
mod napi_values;
pub mod pool_binding;
pub mod pool_core;
pub mod pool_stats;
pub mod uv_host;
