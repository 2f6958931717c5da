'use strict';
// One 'abort' listener per distinct AbortSignal, however many tasks share it.
//
// Tasks register a callback; the first registration adds the listener, the last removal takes it
// off. 10,000 tasks on one long-lived signal therefore add one listener (no
// MaxListenersExceededWarning) and leave none behind. Callers check `signal.aborted` first: an
// already-aborted signal never fires 'abort' again.

const registry = new WeakMap();

/**
 * Calls `callback(signal.reason)` once when `signal` aborts. Returns a function that unregisters
 * it (idempotent).
 */
function onAbort(signal, callback) {
  let entry = registry.get(signal);
  if (entry === undefined) {
    const callbacks = new Set();
    const listener = () => {
      registry.delete(signal);
      // Every callback runs, even after one throws (each settles a task that must not hang); the
      // first error is then rethrown for the EventTarget to report as an uncaught exception.
      let failed = false;
      let first;
      for (const cb of callbacks) {
        try {
          cb(signal.reason);
        } catch (error) {
          if (!failed) {
            failed = true;
            first = error;
          }
        }
      }
      callbacks.clear();
      if (failed) throw first;
    };
    entry = {callbacks, listener};
    registry.set(signal, entry);
    signal.addEventListener('abort', listener, {once: true});
  }
  const {callbacks, listener} = entry;
  callbacks.add(callback);
  return () => {
    if (callbacks.delete(callback) && callbacks.size === 0 && registry.get(signal) === entry) {
      registry.delete(signal);
      signal.removeEventListener('abort', listener);
    }
  };
}

module.exports = {onAbort};
