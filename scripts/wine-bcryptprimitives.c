#include <windows.h>
#include <ntsecapi.h>
/* Wine 8 has no bcryptprimitives.dll; Rust's std calls its ProcessPrng (Windows 10+). */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
