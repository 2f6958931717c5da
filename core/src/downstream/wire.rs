//! This room's part of the wire protocol (see `crate::wire`): the bounds of the built-in
//! downstream's options and the codes of its modes. [`model`](super::model) refuses numbers beyond
//! them; `bin/downstream.js` and the CLI (`bin/async-shape.js`) check them first, for messages
//! that name the option.

crate::wire_table! {
  /// The largest capacity it accepts, in requests per second.
  MAX_CAPACITY: f64 = 1e9;
  /// The largest latency it accepts, in ms (one day).
  MAX_LATENCY_MS: f64 = 86_400_000.0;
  /// The most requests it serves at once (`capacity × latency / 1000`).
  MAX_SERVERS: f64 = 1_000_000.0;
  /// The most waiting-room places (`queue` is a u32).
  MAX_QUEUE: u32 = u32::MAX;
  /// Mode `queue`: requests beyond the servers wait in the waiting room, then 429 (the default).
  MODE_QUEUE: u32 = 0;
  /// Mode `conn`: 503 at once beyond `limit` requests in flight, no queue (nginx `limit_conn`).
  MODE_CONN: u32 = 1;
  /// Mode `rate`: 429 with `Retry-After` beyond `limit` requests per second (nginx `limit_req`).
  MODE_RATE: u32 = 2;
  /// The largest `limit` of mode `conn`, in requests in flight.
  MAX_CONN_LIMIT: f64 = 1_000_000.0;
  /// The largest `limit` of mode `rate`, in requests per second.
  MAX_RATE_LIMIT: f64 = 1e9;
}
