'use strict';
// The shared reaction state of this JS thread: `[in-reaction flag, reaction counter]`, two Int32s
// that the event-loop watchdog thread reads during a stall to tell a microtask burst from
// synchronous code (lib/loop-monitor.js). The library bumps them where it runs user code from a
// promise reaction (pool and limit task starts, combinator task starts, callbackify callbacks):
// two typed-array stores, nothing else. For code outside the library, `trackPromises` adds
// `v8.promiseHooks` (opt-in: about +70 ns a reaction).
//
// An explicit ArrayBuffer, so that the backing store is off the V8 heap and never moves while the
// watchdog holds its address. The counter wraps (Int32 stores are modulo 2^32).

const state = new Int32Array(new ArrayBuffer(8));

let stopHooks;
let users = 0;

function before() {
  state[0] = 1;
  state[1]++;
}

function after() {
  state[0] = 0;
}

/** Counts every promise reaction of this thread until the returned function is called. */
function trackPromises() {
  if (users++ === 0) stopHooks = require('node:v8').promiseHooks.createHook({before, after});
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) {
      stopHooks();
      stopHooks = undefined;
      // Stopped from inside a reaction, whose `after` hook will not run now.
      state[0] = 0;
    }
  };
}

const trackingPromises = () => users > 0;

module.exports = {state, trackPromises, trackingPromises};
