/* Release check: loads an addon with musl's dynamic loader (RTLD_NOW: every symbol resolved) and
 * finds its N-API entry point. No musl build of Node is on npm, so this is the musl load check. */
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
  void *f = dlsym(h, "napi_register_module_v1");
  printf("dlopen ok, napi_register_module_v1=%s\n", f ? "found" : "missing");
  return f ? 0 : 1;
}
