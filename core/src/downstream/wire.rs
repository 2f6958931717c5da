//! This room's part of the wire protocol (see `crate::wire`).

crate::wire_table! {}
