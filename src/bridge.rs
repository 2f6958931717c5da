//! The callback bridge's binding: the registry (`core/src/bridge.rs`) for `lib/bridge/bridge.js`.
//! Called when a function is wrapped and when a misuse happens, never on a well-behaved call, so
//! napi-rs' generated conversions are fine here. One registry per JS thread.
//!
//! No unsafe code. The registry is a thread-local `RefCell`: each function borrows it inside
//! `REGISTRY.with` and releases it before returning, and napi-rs converts the arguments before
//! and the result after, so no borrow is held while JS runs (nothing here calls into JS).

use async_shape_core::bridge::{record_answer, Misuse, Registry};
use napi_derive::napi;
use std::cell::RefCell;

thread_local! {
  static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// One function's misuse counts, as `bridgeSnapshot()` lists them: an object with named fields
/// (not a positional array), so its layout is its field names.
#[napi(object)]
pub struct BridgeEntry {
  pub name: String,
  pub sync_callbacks: f64,
  pub double_callbacks: f64,
  pub dropped_errors: f64,
}

/// Registers a wrapped function by name; returns its id.
#[napi(js_name = "bridgeRegister", catch_unwind)]
pub fn bridge_register(name: String) -> u32 {
  REGISTRY.with(|r| r.borrow_mut().register(&name))
}

/// A wrapper registered under `id` was collected (balances one `bridgeRegister`).
#[napi(js_name = "bridgeRelease", catch_unwind)]
pub fn bridge_release(id: u32) {
  REGISTRY.with(|r| r.borrow_mut().release(id));
}

/// Entries the registry holds (for leak tests): bounded by `MAX_NAMES` + 1 live names, plus
/// collected names with counts not yet reset.
#[napi(js_name = "bridgeRegistrySize", catch_unwind)]
pub fn bridge_registry_size() -> u32 {
  REGISTRY.with(|r| r.borrow().len() as u32)
}

/// Counts a misuse (`kind`: `SYNC_CALLBACK`, `DOUBLE_CALLBACK` or `DROPPED_ERROR`, see
/// `async_shape_core::bridge::wire`). Returns the count so far, negated when the policy says to
/// warn about this occurrence; `NOT_COUNTED` for an unknown id or kind.
#[napi(js_name = "bridgeRecord", catch_unwind)]
pub fn bridge_record(id: u32, kind: u32) -> f64 {
  let recorded = Misuse::from_code(kind).and_then(|kind| REGISTRY.with(|r| r.borrow_mut().record(id, kind)));
  record_answer(recorded)
}

/// Adds `n` synchronous callbacks to function `id` (JS counts them and flushes in batches).
#[napi(js_name = "bridgeAddSync", catch_unwind)]
pub fn bridge_add_sync(id: u32, n: f64) {
  REGISTRY.with(|r| r.borrow_mut().add_sync_callbacks(id, n as u64));
}

/// Functions with at least one misuse.
#[napi(js_name = "bridgeSnapshot", catch_unwind)]
pub fn bridge_snapshot() -> Vec<BridgeEntry> {
  REGISTRY.with(|r| {
    r.borrow()
      .snapshot()
      .into_iter()
      .map(|(name, c)| BridgeEntry {
        name,
        sync_callbacks: c.sync_callbacks as f64,
        double_callbacks: c.double_callbacks as f64,
        dropped_errors: c.dropped_errors as f64,
      })
      .collect()
  })
}

#[napi(js_name = "bridgeReset", catch_unwind)]
pub fn bridge_reset() {
  REGISTRY.with(|r| r.borrow_mut().reset());
}
