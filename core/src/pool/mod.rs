//! The bounded pool: [`scheduler`] (queue, slots, tokens, priorities, deadlock detection),
//! [`deadlines`] (per-task timeouts), [`stats`] (Little's-law statistics) and [`adaptive`]
//! (the concurrency controllers).

pub mod adaptive;
pub mod deadlines;
pub mod scheduler;
pub mod stats;
pub mod wire;
