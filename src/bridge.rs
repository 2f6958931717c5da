//! napi glue for the callback bridge's registry. Called when a function is wrapped and when a
//! misuse happens, never on a well-behaved call, so napi-rs' generated conversions are fine here.
//! One registry per JS thread.

use async_shape_core::bridge::{Misuse, Registry};
use napi_derive::napi;
use std::cell::RefCell;

thread_local! {
  static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

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

/// Counts a misuse (0 sync callback, 1 double callback, 2 dropped error). Returns the count so
/// far, negated when the policy says to warn about this occurrence; 0 for an unknown id or kind.
#[napi(js_name = "bridgeRecord", catch_unwind)]
pub fn bridge_record(id: u32, kind: u32) -> f64 {
  let Some(kind) = Misuse::from_code(kind) else {
    return 0.0;
  };
  match REGISTRY.with(|r| r.borrow_mut().record(id, kind)) {
    Some((n, true)) => -(n as f64),
    Some((n, false)) => n as f64,
    None => 0.0,
  }
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
