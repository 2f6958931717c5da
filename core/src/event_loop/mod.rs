//! Event-loop telemetry: [`sampler`] (loop lag, utilization, stall records and their
//! attribution) and [`watchdog`] (a thread that sees a stall while it happens). The libuv handles
//! that feed them live in the addon (`src/event_loop/`), on the host binary's libuv.

pub mod sampler;
pub mod watchdog;
pub mod wire;
