//! This room's part of the wire protocol (see `crate::wire`): the bounds of the built-in
//! downstream's options. [`model`](super::model) refuses numbers beyond them; `bin/downstream.js`
//! and the CLI (`bin/async-shape.js`) check them first, for messages that name the option.

crate::wire_table! {
  /// The largest capacity it accepts, in requests per second.
  MAX_CAPACITY: f64 = 1e9;
  /// The largest latency it accepts, in ms (one day).
  MAX_LATENCY_MS: f64 = 86_400_000.0;
  /// The most requests it serves at once (`capacity × latency / 1000`).
  MAX_SERVERS: f64 = 1_000_000.0;
  /// The most waiting-room places (`queue` is a u32).
  MAX_QUEUE: u32 = u32::MAX;
}
