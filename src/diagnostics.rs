//! Diagnostics for the benchmarks: bytes in use by the C allocator, so that memory per task can
//! count native memory (Rust slots, napi deferreds, V8 global handles) next to the JS heap.
//!
//! `mallinfo2` is glibc's (2.33+). It is looked up in the process at run time (`uv_host`'s
//! `host_symbol`), so the addon still loads on other C libraries and on Windows; there the
//! function returns -1.

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
#[napi(js_name = "mallocInUse")]
pub fn malloc_in_use() -> f64 {
  let sym = crate::uv_host::host_symbol(c"mallinfo2");
  if sym.is_null() {
    return -1.0;
  }
  // SAFETY: a non-null `mallinfo2` is glibc's, `struct mallinfo2 mallinfo2(void)`, which `Mallinfo2` mirrors.
  let mallinfo2: extern "C" fn() -> Mallinfo2 = unsafe { std::mem::transmute(sym) };
  let info = mallinfo2();
  (info.uordblks + info.hblkhd) as f64
}
