//! Diagnostics for the benchmarks: bytes in use by the C allocator, so that memory per task can
//! count native memory (Rust slots, napi deferreds, V8 global handles) next to the JS heap.
//!
//! `mallinfo2` is glibc's (2.33+). It is looked up in the process at run time
//! ([`host_symbol`](crate::event_loop::uv::host_symbol), the addon's one `dlsym`), so the addon
//! still loads on other C libraries and on Windows; there the function returns -1.

use napi_derive::napi;

#[repr(C)]
#[derive(Default)]
struct Mallinfo2 {
  arena: usize,
  ordblks: usize,
  smblks: usize,
  hblks: usize,
  hblkhd: usize,
  usmblks: usize,
  fsmblks: usize,
  uordblks: usize,
  fordblks: usize,
  keepcost: usize,
}

/// Bytes the C allocator has handed out and not yet freed (`uordblks + hblkhd`), or -1 when the
/// C library has no `mallinfo2`.
#[napi(js_name = "mallocInUse", catch_unwind)]
pub fn malloc_in_use() -> f64 {
  let sym = crate::event_loop::uv::host_symbol(c"mallinfo2");
  if sym.is_null() {
    return -1.0;
  }
  // SAFETY: a non-null `mallinfo2` is glibc's, `struct mallinfo2 mallinfo2(void)`, which `Mallinfo2` mirrors.
  let mallinfo2: extern "C" fn() -> Mallinfo2 = unsafe { std::mem::transmute(sym) };
  let info = mallinfo2();
  (info.uordblks + info.hblkhd) as f64
}

/// For the tests of panic containment: panics inside a native entry point, through napi-rs'
/// `catch_unwind` (`raw` false) or the raw callbacks' `guarded` (`raw` true). Either way the
/// caller gets a thrown JS Error and the process goes on.
#[napi(js_name = "panicProbe", catch_unwind)]
pub fn panic_probe(env: napi::Env, raw: bool) -> napi::Result<()> {
  if raw {
    // SAFETY: `env` is this call's env, on its JS thread.
    unsafe {
      crate::napi_raw::guarded(env.raw(), || panic!("panicProbe (raw)"));
    }
    // The exception `guarded` threw is pending: it propagates when this returns.
    return Ok(());
  }
  panic!("panicProbe");
}
