//! Exports the wire protocol (`async_shape_core::wire::ROOMS`) to JS: `wire()` returns
//! `{pool: {NAME: number, ...}, combinators: {...}, ..., fleet: {...}}`. Called once, when
//! `lib/internal/wire.js` loads; the hot paths then pass plain numbers.

use async_shape_core::wire::ROOMS;
use napi::bindgen_prelude::{Env, Object, Result};
use napi_derive::napi;

#[napi(js_name = "wire", catch_unwind)]
pub fn wire(env: &Env) -> Result<Object<'_>> {
  let mut rooms = Object::new(env)?;
  for (room, table) in ROOMS {
    let mut constants = Object::new(env)?;
    for (name, value) in *table {
      constants.set(*name, *value)?;
    }
    rooms.set(*room, constants)?;
  }
  Ok(rooms)
}
