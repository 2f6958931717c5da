//! The JS↔Rust wire protocol, defined once. Every numeric code and every index into a positional
//! array that crosses the boundary is a constant of its room's `wire` module, declared with
//! [`wire_table!`](crate::wire_table), so it is listed in that room's `TABLE` by the same name.
//! The addon exports [`ROOMS`] to JS once, as `wire()` (a cold call at load time), and
//! `lib/internal/wire.js` is the only JS module that reads it; the hot paths then pass plain
//! numbers.

/// Declares the constants of one room's wire protocol and `TABLE`, the list of them by name.
#[macro_export]
macro_rules! wire_table {
  ($($(#[$meta:meta])* $name:ident: $ty:ty = $value:expr;)*) => {
    $($(#[$meta])* pub const $name: $ty = $value;)*
    /// Every constant of this room's protocol, by name, as JS reads them.
    pub const TABLE: &[(&str, f64)] = &[$((stringify!($name), $name as f64)),*];
  };
}

/// Every room's table, by the room's JS name.
pub const ROOMS: &[(&str, &[(&str, f64)])] = &[
  ("pool", crate::pool::wire::TABLE),
  ("combinators", crate::combinators::wire::TABLE),
  ("bridge", crate::bridge::wire::TABLE),
  ("eventLoop", crate::event_loop::wire::TABLE),
  ("downstream", crate::downstream::wire::TABLE),
  ("fleet", crate::fleet::wire::TABLE),
];

#[cfg(test)]
mod tests {
  use super::ROOMS;
  use std::collections::HashSet;

  #[test]
  fn names_are_unique_within_a_room() {
    for (room, table) in ROOMS {
      let mut seen = HashSet::new();
      for (name, _) in *table {
        assert!(seen.insert(*name), "{room}.{name} is declared twice");
      }
    }
  }
}
