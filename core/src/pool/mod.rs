//! The bounded pool: [`scheduler`] (queue, slots, tokens, priorities, deadlock detection),
//! [`deadlines`] (per-task timeouts), [`stats`] (Little's-law statistics), [`adaptive`] (the
//! concurrency controllers) and [`wire`] (the codes and layouts that cross to JS).

pub mod adaptive;
pub mod deadlines;
pub mod scheduler;
pub mod stats;
pub mod wire;
