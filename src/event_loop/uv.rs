//! libuv, borrowed from the host `node` binary at run time.
//!
//! The node executable exports its libuv (`uv_*`). The addon looks the functions up at run time
//! (`dlsym(RTLD_DEFAULT)` on Linux and macOS, `GetProcAddress` on `node.exe` on Windows) instead of
//! linking them: a runtime without them (Bun aborts in its `uv_*` stubs, Deno has only
//! some) can still load the addon, and the JS layer falls back to `perf_hooks`. A second libuv
//! (the `libuv-sys2` crate builds one) would operate on Node's loop with different internals, so it
//! is never linked. Handles are opaque: their size comes from `uv_handle_size`, and only the public
//! first field `data` is touched.
//!
//! This is the addon's only declaration of `dlsym` (and of the Windows lookups): everything else
//! that needs a host symbol calls [`host_symbol`].

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

pub type Handle = c_void;
pub type Loop = c_void;
pub type HandleCb = unsafe extern "C" fn(*mut Handle);

/// The handle types the addon allocates; the discriminants are libuv's `uv_handle_type` values,
/// stable across libuv 1.x.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum HandleKind {
  /// `UV_CHECK`.
  Check = 2,
  /// `UV_PREPARE`.
  Prepare = 9,
  /// `UV_TIMER`.
  Timer = 13,
}

type InitFn = unsafe extern "C" fn(*mut Loop, *mut Handle) -> c_int;
type StartFn = unsafe extern "C" fn(*mut Handle, HandleCb) -> c_int;
type StopFn = unsafe extern "C" fn(*mut Handle) -> c_int;
type CloseFn = unsafe extern "C" fn(*mut Handle, Option<HandleCb>);
type UnrefFn = unsafe extern "C" fn(*mut Handle);
type SizeFn = unsafe extern "C" fn(c_int) -> usize;
type IdleFn = unsafe extern "C" fn(*mut Loop) -> u64;
type HrtimeFn = unsafe extern "C" fn() -> u64;
type NowFn = unsafe extern "C" fn(*const Loop) -> u64;
type TimerStartFn = unsafe extern "C" fn(*mut Handle, HandleCb, u64, u64) -> c_int;

/// The libuv functions the addon uses, with the C signatures of libuv 1.x. Every call needs the
/// arguments libuv documents: a live, initialized handle of the right type, on its loop's thread.
pub struct Uv {
  pub check_init: InitFn,
  pub check_start: StartFn,
  pub check_stop: StopFn,
  pub prepare_init: InitFn,
  pub prepare_start: StartFn,
  pub prepare_stop: StopFn,
  pub close: CloseFn,
  pub unref: UnrefFn,
  handle_size: SizeFn,
  pub metrics_idle_time: IdleFn,
  pub hrtime: HrtimeFn,
  /// libuv's cached loop time in ms (updated when an iteration starts and when poll returns).
  pub now: NowFn,
  pub timer_init: InitFn,
  pub timer_start: TimerStartFn,
  pub timer_stop: StopFn,
}

/// The address of an exported function of the host process, or null.
#[cfg(unix)]
pub fn host_symbol(name: &std::ffi::CStr) -> *mut c_void {
  extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
  }
  /// `RTLD_DEFAULT`: every loaded object, the executable's exports included.
  #[cfg(any(target_os = "macos", target_os = "ios"))]
  const RTLD_DEFAULT: *mut c_void = -2isize as *mut c_void;
  #[cfg(not(any(target_os = "macos", target_os = "ios")))]
  const RTLD_DEFAULT: *mut c_void = std::ptr::null_mut();
  // SAFETY: `name` is NUL-terminated; dlsym only reads it.
  unsafe { dlsym(RTLD_DEFAULT, name.as_ptr()) }
}

/// The address of an export of the host executable (`node.exe` exports libuv), or null.
#[cfg(windows)]
pub fn host_symbol(name: &std::ffi::CStr) -> *mut c_void {
  #[link(name = "kernel32")]
  extern "system" {
    fn GetModuleHandleW(name: *const u16) -> *mut c_void;
    fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
  }
  // SAFETY: a null name asks for the executable's own module handle, which lives as long as the
  // process; GetProcAddress only reads the NUL-terminated `name` and returns null when absent.
  unsafe {
    let exe = GetModuleHandleW(std::ptr::null());
    if exe.is_null() {
      return std::ptr::null_mut();
    }
    GetProcAddress(exe, name.as_ptr())
  }
}

/// Keeps this DLL loaded until the process exits. Node unloads an addon (FreeLibrary) when the
/// last environment that loaded it goes away, e.g. workers exiting while the main thread never
/// required it, yet the process-wide watchdog thread (and a downstream's thread) still run its
/// code: under wine that crashed the process. glibc and dyld never unload a library whose
/// thread-locals Rust's std registered; Windows needs the pin.
#[cfg(windows)]
#[napi_derive::module_init]
fn pin_this_dll() {
  #[link(name = "kernel32")]
  extern "system" {
    fn GetModuleHandleExW(flags: u32, name: *const u16, module: *mut *mut c_void) -> i32;
  }
  const GET_MODULE_HANDLE_EX_FLAG_PIN: u32 = 0x1;
  const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: u32 = 0x4;
  let mut module = std::ptr::null_mut();
  // SAFETY: with FROM_ADDRESS, `name` is an address inside this DLL (this function), not read as
  // a string; `module` is a valid out pointer. Pinning loads nothing, so it is fine under the
  // loader lock this constructor runs in. On failure the DLL is merely unpinned, as before.
  unsafe {
    GetModuleHandleExW(
      GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
      pin_this_dll as *const u16,
      &mut module,
    );
  }
}

#[cfg(not(any(unix, windows)))]
pub fn host_symbol(_name: &std::ffi::CStr) -> *mut c_void {
  std::ptr::null_mut()
}

fn resolve() -> Option<Uv> {
  macro_rules! sym {
    ($name:literal as $ty:ty) => {{
      let p = host_symbol($name);
      if p.is_null() {
        return None;
      }
      // SAFETY: `p` is the host's libuv export of that name, whose C signature `$ty` mirrors.
      unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
    }};
  }
  Some(Uv {
    check_init: sym!(c"uv_check_init" as InitFn),
    check_start: sym!(c"uv_check_start" as StartFn),
    check_stop: sym!(c"uv_check_stop" as StopFn),
    prepare_init: sym!(c"uv_prepare_init" as InitFn),
    prepare_start: sym!(c"uv_prepare_start" as StartFn),
    prepare_stop: sym!(c"uv_prepare_stop" as StopFn),
    close: sym!(c"uv_close" as CloseFn),
    unref: sym!(c"uv_unref" as UnrefFn),
    handle_size: sym!(c"uv_handle_size" as SizeFn),
    metrics_idle_time: sym!(c"uv_metrics_idle_time" as IdleFn),
    hrtime: sym!(c"uv_hrtime" as HrtimeFn),
    now: sym!(c"uv_now" as NowFn),
    timer_init: sym!(c"uv_timer_init" as InitFn),
    timer_start: sym!(c"uv_timer_start" as TimerStartFn),
    timer_stop: sym!(c"uv_timer_stop" as StopFn),
  })
}

/// The host's libuv, or None when the process does not export one.
pub fn uv() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(resolve).as_ref()
}

/// The monotonic clock libuv, `process.hrtime` and `performance.now()` share, in ns.
pub fn hrtime() -> u64 {
  // SAFETY: `uv_hrtime` takes no argument and reads the monotonic clock, from any thread.
  uv().map_or(0, |uv| unsafe { (uv.hrtime)() })
}

impl Uv {
  /// The size of a `kind` handle in 8-byte words (at least one, so `data` fits).
  fn words(&self, kind: HandleKind) -> usize {
    // SAFETY: `uv_handle_size` only maps a handle type to its size; `kind` is a valid type.
    unsafe { (self.handle_size)(kind as c_int) }.div_ceil(8).max(1)
  }

  /// Allocates an (uninitialized, zeroed) handle of `kind`, 8-byte aligned, whose `data` field is
  /// `data`. Free it with [`Uv::free`] once closed.
  pub fn alloc(&self, kind: HandleKind, data: *mut c_void) -> *mut Handle {
    let handle = Box::into_raw(vec![0u64; self.words(kind)].into_boxed_slice()) as *mut u64 as *mut Handle;
    // SAFETY: `handle` is a fresh allocation of at least 8 bytes, aligned for a pointer; `data` is
    // the first field of every libuv handle.
    unsafe { *(handle as *mut *mut c_void) = data };
    handle
  }

  /// Frees a handle from `alloc`, after its close callback ran.
  ///
  /// # Safety
  /// `handle` came from `alloc(kind, _)` and libuv no longer references it.
  pub unsafe fn free(&self, kind: HandleKind, handle: *mut Handle) {
    let words = self.words(kind);
    // SAFETY: the caller's contract: `alloc(kind, _)` made `handle` as a boxed slice of `words`
    // u64s, and nothing references it any more.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle as *mut u64, words)) });
  }
}

/// The `data` field of a handle.
///
/// # Safety
/// `handle` is a live handle from [`Uv::alloc`] (not yet freed).
pub unsafe fn data_of(handle: *mut Handle) -> *mut c_void {
  // SAFETY: the caller's contract; `data` is a handle's first field, which `alloc` wrote.
  unsafe { *(handle as *mut *mut c_void) }
}
