'use strict';
// The shared reaction state of this JS thread: an in-reaction flag and a reaction counter, two
// Int32s that the event-loop watchdog thread reads during a stall to tell a microtask burst from
// synchronous code (lib/event-loop/monitor.js hands the buffer to the addon). Their indices are
// the wire protocol's (`REACTION_FLAG`, `REACTION_COUNTER` in core/src/event_loop/wire.rs),
// exported here as plain numbers. The library bumps them where it runs user code from a promise
// reaction (pool and limit task starts, combinator task starts, callbackify callbacks):
//
//   state[REACTION_COUNTER]++; state[REACTION_FLAG] = 1; ... state[REACTION_FLAG] = 0;
//
// two typed-array stores, nothing else. For code outside the library, `trackPromises` adds
// `v8.promiseHooks` (opt-in: about +70 ns a reaction).
//
// A SharedArrayBuffer, because the addon keeps the buffer's address (the check callback on this
// thread and the watchdog thread read it): its backing store never moves, and it can be neither
// transferred nor detached (`structuredClone(buffer, {transfer})` and `postMessage` throw or share
// it), so no JS can free it under a reader; shared memory also defines the watchdog's concurrent
// reads. `loopCreate` refuses any other buffer. Plain stores cost what they cost on an
// ArrayBuffer. The counter wraps (Int32 stores are modulo 2^32).

const {room} = require('./wire');

const {REACTION_FLAG, REACTION_COUNTER, REACTION_SLOTS} = room('eventLoop');

const state = new Int32Array(new SharedArrayBuffer(REACTION_SLOTS * Int32Array.BYTES_PER_ELEMENT));

let stopHooks;
let users = 0;

function before() {
  state[REACTION_FLAG] = 1;
  state[REACTION_COUNTER]++;
}

function after() {
  state[REACTION_FLAG] = 0;
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
      state[REACTION_FLAG] = 0;
    }
  };
}

const trackingPromises = () => users > 0;

module.exports = {state, REACTION_FLAG, REACTION_COUNTER, trackPromises, trackingPromises};
