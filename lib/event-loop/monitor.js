'use strict';
// Event-loop telemetry (issue #5). The state lives in Rust (src/event_loop/mod.rs over
// core/src/event_loop/): an unref'd libuv check handle samples each loop iteration's busy time, a
// watchdog thread sees stalls while they happen, and attribution comes from the shared reaction
// state (lib/internal/reactions.js). This module only shapes the API: an IntervalHistogram-
// compatible histogram side, stalls, pressure, a report. The positional arrays and codes the
// addon returns are read with the wire protocol's names (core/src/event_loop/wire.rs).
//
// Where the host exports no libuv (Bun, Deno) or the addon says so, a perf_hooks fallback with
// the same surface is used (`monitor.native === false`): stalls are seen only after they end.

const {EventEmitter} = require('node:events');
const {performance, monitorEventLoopDelay} = require('node:perf_hooks');
const {isMainThread, threadId} = require('node:worker_threads');
const native = require('../internal/native');
const reactions = require('../internal/reactions');
const {describe, validateOptionsObject} = require('../internal/validate');
const {room} = require('../internal/wire');
const {NODE_LOOP} = require('../internal/platform');

const {
  STALL_MACROTASK,
  STALL_MICROTASK_BURST,
  STALL_LONG_MICROTASK,
  STALL_MIXED,
  STATS_COUNT,
  STATS_MIN,
  STATS_MAX,
  STATS_MEAN,
  STATS_STDDEV,
  PERCENTILE_P,
  PERCENTILE_VALUE,
  PERCENTILE_STRIDE,
  RECENT_MAX,
  RECENT_UTILIZATION,
  RECENT_BUSY,
  NO_MONITOR,
} = room('eventLoop');

const NS = 1e6;
// The public names of the native stall kinds (the perf_hooks fallback's stalls are 'unknown').
const KIND_NAMES = [];
KIND_NAMES[STALL_MACROTASK] = 'macrotask';
KIND_NAMES[STALL_MICROTASK_BURST] = 'microtask-burst';
KIND_NAMES[STALL_LONG_MICROTASK] = 'long-microtask';
KIND_NAMES[STALL_MIXED] = 'mixed';
// performance.now() = hrtime / 1e6 + offset on this thread (both read libuv's monotonic clock).
const HR_OFFSET = performance.now() - Number(process.hrtime.bigint()) / NS;

const nativeSupported =
  native.loopSupported() &&
  NODE_LOOP &&
  process.env.ASYNC_SHAPE_LOOP_FALLBACK !== '1';

const label = isMainThread ? `the main thread (pid ${process.pid})` : `worker ${threadId} (pid ${process.pid})`;

// The longest threshold or window, in ms (about 24.8 days, as for timers): they become ns in u64.
const {MAX_TIMER_MS: MAX_MS} = require('../internal/deadline-timer');

function positiveNumber(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`);
  }
  if (!(value > 0) || !(value <= MAX_MS)) {
    throw new RangeError(`Expected \`${name}\` to be a number of milliseconds above 0 and at most ${MAX_MS}, got ${describe(value)}`);
  }
  return value;
}

function readOptions(options) {
  validateOptionsObject(options);
  const {stallThreshold, window, maxStalls = 100, logBlocked = false, trackPromises = false} = options ?? {};
  const threshold = positiveNumber(stallThreshold, 'stallThreshold', 50);
  const windowMs = positiveNumber(window, 'window', 1000);
  if (!Number.isInteger(maxStalls) || maxStalls < 1 || maxStalls > 1e6) {
    throw new TypeError(`Expected \`maxStalls\` to be an integer from 1 to 1000000, got ${describe(maxStalls)}`);
  }
  if (typeof logBlocked !== 'boolean') {
    throw new TypeError(`Expected \`logBlocked\` to be a boolean, got ${describe(logBlocked)}`);
  }
  if (trackPromises !== true && trackPromises !== false && trackPromises !== 'auto') {
    throw new TypeError(`Expected \`trackPromises\` to be true, false or 'auto', got ${describe(trackPromises)}`);
  }
  return {threshold, windowMs, maxStalls, logBlocked, trackPromises};
}

function validatePercentile(p) {
  if (typeof p !== 'number' || Number.isNaN(p)) {
    throw new TypeError(`Expected \`percentile\` to be a number, got ${describe(p)}`);
  }
  if (!(p > 0 && p <= 100)) throw new RangeError(`Expected \`percentile\` to be above 0 and at most 100, got ${p}`);
}

const round = ms => Math.round(ms * 1000) / 1000;

/**
 * A native stall record → the public shape, in ms on this thread's performance.now() timeline
 * (the native start is on the hrtime clock every thread shares).
 */
function toStall(s) {
  const duration = s.duration / NS;
  const microtask = round(duration * s.microtaskShare);
  return {
    start: round(s.start / NS + HR_OFFSET),
    duration: round(duration),
    kind: KIND_NAMES[s.kind],
    reactions: s.reactions,
    microtask,
    macrotask: Math.max(0, round(duration - microtask)),
  };
}

/** The stall in progress on a monitor's loop (from any thread), or null. */
function currentStall(id) {
  if (!Number.isInteger(id) || id < 0 || id > 2 ** 32 - 1) {
    throw new TypeError(`Expected \`id\` to be a monitor's \`id\` (an integer from 0 to 4294967295), got ${describe(id)}`);
  }
  if (!nativeSupported || id === NO_MONITOR) return null;
  const s = native.loopCurrentStall(id);
  return s === null || s === undefined ? null : toStall(s);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const fmtMs = ns => (ns >= 10 * NS ? `${(ns / NS).toFixed(0)} ms` : ns >= NS / 10 ? `${(ns / NS).toFixed(2)} ms` : `${(ns / 1e3).toFixed(0)} µs`);

/** Shared by both monitors: pressure(), report(), the BigInt and JSON views. */
class MonitorBase extends EventEmitter {
  percentileBigInt(p) {
    return BigInt(Math.round(this.percentile(p)));
  }

  get countBigInt() {
    return BigInt(this.count);
  }

  get minBigInt() {
    // INT64_MAX exactly, as perf_hooks reports for an empty histogram (`min` is its nearest Number).
    return this.count === 0 ? 9223372036854775807n : BigInt(this.min);
  }

  get maxBigInt() {
    return BigInt(this.max);
  }

  get exceedsBigInt() {
    return BigInt(this.exceeds);
  }

  get percentilesBigInt() {
    return new Map([...this.percentiles].map(([p, v]) => [p, BigInt(v)]));
  }

  toJSON() {
    return {
      count: this.count,
      min: this.min,
      max: this.max,
      mean: this.mean,
      exceeds: this.exceeds,
      stddev: this.stddev,
      percentiles: Object.fromEntries(this.percentiles),
    };
  }

  /**
   * For load shedding: true while a stall is in progress, or when the recent window's largest
   * iteration reached `maxDelay` ms (default: the stall threshold) or its utilization reached
   * `maxUtilization` (0..1, not checked by default).
   */
  pressure(limits) {
    validateOptionsObject(limits, 'limits');
    const maxDelay = positiveNumber(limits?.maxDelay, 'maxDelay', this.stallThreshold);
    const maxUtilization = limits?.maxUtilization;
    if (maxUtilization !== undefined && (typeof maxUtilization !== 'number' || Number.isNaN(maxUtilization))) {
      throw new TypeError(`Expected \`maxUtilization\` to be a number above 0 and at most 1, got ${describe(maxUtilization)}`);
    }
    if (maxUtilization !== undefined && !(maxUtilization > 0 && maxUtilization <= 1)) {
      throw new RangeError(`Expected \`maxUtilization\` to be a number above 0 and at most 1, got ${describe(maxUtilization)}`);
    }
    const {max, utilization, busy} = this.recent();
    return busy >= maxDelay || max >= maxDelay || (maxUtilization !== undefined && utilization >= maxUtilization);
  }

  /** A short summary for logs: p50/p99/max, utilization, stalls by kind. */
  report() {
    const kinds = new Map();
    for (const s of this.stalls()) {
      const k = kinds.get(s.kind) ?? {count: 0, ms: 0};
      k.count++;
      k.ms += s.duration;
      kinds.set(s.kind, k);
    }
    const byKind = [...kinds].map(([kind, k]) => `${k.count} ${kind} (${Math.round(k.ms)} ms)`).join(', ');
    const what = this.native ? 'busy per iteration' : 'timer delay (perf_hooks fallback)';
    const stalls = this.stallCount === 0 ? 'no stalls' : `${plural(this.stallCount, 'stall')}: ${byKind}`;
    return (
      `event loop, ${what}: p50 ${fmtMs(this.percentile(50))}, p99 ${fmtMs(this.percentile(99))}, ` +
      `max ${fmtMs(this.max)} over ${plural(this.count, 'sample')}; utilization ${(this.utilization() * 100).toFixed(1)}%; ` +
      `${stalls} (threshold ${this.stallThreshold} ms)`
    );
  }
}

// Monitors told when this thread's stalls end: those with 'stall' listeners and those with
// trackPromises: 'auto'. Held weakly by id: a monitor nobody references is collected (and its
// promise hooks released), whatever it listens to. Monitors with 'stall' listeners are also held
// strongly, as an emitter with listeners is expected to keep delivering.
const listening = new Map();
const withListeners = new Set();
let listenerSet = false;
function dispatchStalls() {
  for (const [id, ref] of listening) {
    const monitor = ref.deref();
    if (monitor === undefined) listening.delete(id);
    else monitor._deliver();
  }
}

// What a monitor holds that must be released when it is collected without close(): its native
// state and its share of the promise hooks. Held by the registry, never referring to the monitor.
const closeOnCollect = new FinalizationRegistry(held => {
  listening.delete(held.id);
  held.stopTracking?.();
  held.stopTracking = undefined;
  native.loopClose(held.id);
});

class LoopMonitor extends MonitorBase {
  #id;
  #options;
  #enabled = false;
  #closed = false;
  #delivered = 0;
  // {id, stopTracking}: shared with the FinalizationRegistry.
  #held;

  constructor(options) {
    super();
    this.#options = options;
    this.#id = native.loopCreate(reactions.state, options.threshold, options.windowMs, options.maxStalls, options.logBlocked, label);
    this.#held = {id: this.#id, stopTracking: undefined};
    closeOnCollect.register(this, this.#held, this);
    this.#watchListeners();
    if (options.trackPromises === 'auto') this.#listen(true);
  }

  // 'stall' listeners switch delivery on and off. These two internal listeners are put back after
  // removeAllListeners(), which would otherwise remove them too.
  #onNewListener = event => {
    if (event !== 'stall' || this.#closed) return;
    withListeners.add(this);
    this.#listen(true);
  };

  #onRemoveListener = event => {
    if (event !== 'stall' || this.listenerCount('stall') > 0) return;
    withListeners.delete(this);
    if (this.#options.trackPromises !== 'auto') this.#listen(false);
  };

  #watchListeners() {
    if (!this.listeners('newListener').includes(this.#onNewListener)) this.on('newListener', this.#onNewListener);
    if (!this.listeners('removeListener').includes(this.#onRemoveListener)) this.on('removeListener', this.#onRemoveListener);
  }

  removeAllListeners(event) {
    super.removeAllListeners(event);
    if (event === undefined || event === 'newListener' || event === 'removeListener') this.#watchListeners();
    return this;
  }

  #listen(on) {
    if (!on || this.#closed) {
      listening.delete(this.#id);
      return;
    }
    if (!listenerSet) {
      native.loopSetListener(dispatchStalls);
      listenerSet = true;
    }
    this.#delivered = Math.max(this.#delivered, native.loopStallTotal(this.#id));
    if (!listening.has(this.#id)) listening.set(this.#id, new WeakRef(this));
  }

  #track(on) {
    if (on) {
      if (this.#held.stopTracking === undefined) this.#held.stopTracking = reactions.trackPromises();
    } else {
      this.#held.stopTracking?.();
      this.#held.stopTracking = undefined;
    }
  }

  _deliver() {
    if (this.#closed) return;
    const fresh = native.loopStalls(this.#id, this.#delivered);
    if (fresh.length === 0) return;
    this.#delivered = fresh[fresh.length - 1].index;
    if (this.#options.trackPromises === 'auto' && this.#enabled) this.#track(true);
    for (const s of fresh) this.emit('stall', toStall(s));
  }

  #check() {
    if (this.#closed) throw new Error('async-shape: this event-loop monitor is closed');
  }

  /** A process-wide id: pass it to a worker, which can call `currentStall(id)` during a stall. */
  get id() {
    return this.#id;
  }

  get native() {
    return true;
  }

  get stallThreshold() {
    return this.#options.threshold;
  }

  get enabled() {
    return this.#enabled;
  }

  /** Starts sampling. Returns false if it already was enabled. */
  enable() {
    this.#check();
    const changed = native.loopEnable(this.#id);
    this.#enabled = true;
    if (this.#options.trackPromises === true) this.#track(true);
    return changed;
  }

  /** Stops sampling (the histogram and stalls are kept). Returns false if it was not enabled. */
  disable() {
    if (this.#closed) return false;
    const changed = native.loopDisable(this.#id);
    this.#enabled = false;
    this.#track(false);
    return changed;
  }

  /** Empties the histogram and starts a new utilization window; a stall in progress is kept. */
  reset() {
    this.#check();
    native.loopReset(this.#id);
  }

  #stats() {
    this.#check();
    return native.loopStats(this.#id);
  }

  get count() {
    return this.#stats()[STATS_COUNT];
  }

  /** INT64_MAX as a Number (the wire's EMPTY_MIN) when empty, as IntervalHistogram reports. */
  get min() {
    return this.#stats()[STATS_MIN];
  }

  get max() {
    return this.#stats()[STATS_MAX];
  }

  get mean() {
    return this.#stats()[STATS_MEAN];
  }

  get stddev() {
    return this.#stats()[STATS_STDDEV];
  }

  /** Samples beyond the histogram's range: always 0 (its range has no upper limit). */
  get exceeds() {
    this.#check();
    return 0;
  }

  percentile(p) {
    validatePercentile(p);
    this.#check();
    return native.loopPercentile(this.#id, p);
  }

  get percentiles() {
    this.#check();
    const flat = native.loopPercentiles(this.#id);
    const map = new Map();
    for (let i = 0; i < flat.length; i += PERCENTILE_STRIDE) map.set(flat[i + PERCENTILE_P], flat[i + PERCENTILE_VALUE]);
    return map;
  }

  /** Event-loop utilization (0..1) since enable() or the last reset(). */
  utilization() {
    this.#check();
    return native.loopUtilization(this.#id);
  }

  /** The stall in progress, or null. From another thread: `currentStall(monitor.id)`. */
  currentStall() {
    this.#check();
    return currentStall(this.#id);
  }

  /** The last `maxStalls` finished stalls, oldest first. */
  stalls() {
    this.#check();
    return native.loopStalls(this.#id, 0).map(toStall);
  }

  /** Stalls seen since creation, including those the ring no longer holds. */
  get stallCount() {
    this.#check();
    return native.loopStallTotal(this.#id);
  }

  recent() {
    this.#check();
    const recent = native.loopRecent(this.#id);
    return {max: recent[RECENT_MAX] / NS, utilization: recent[RECENT_UTILIZATION], busy: recent[RECENT_BUSY] / NS};
  }

  /** Stops sampling for good and frees the native state. */
  close() {
    if (this.#closed) return;
    this.disable();
    this.#closed = true;
    listening.delete(this.#id);
    withListeners.delete(this);
    closeOnCollect.unregister(this);
    native.loopClose(this.#id);
  }
}

/**
 * The fallback where the host has no usable libuv: perf_hooks' timer-based histogram (with its
 * resolution floor) and stalls detected from a 10 ms timer's lateness, after they end.
 */
class FallbackLoopMonitor extends MonitorBase {
  #options;
  #histogram = monitorEventLoopDelay({resolution: 10});
  #timer;
  #last = 0;
  #stalls = [];
  #total = 0;
  #elu = performance.eventLoopUtilization();
  #recent = {start: 0, max: 0, prevMax: 0};
  #closed = false;

  constructor(options) {
    super();
    this.#options = options;
  }

  get id() {
    return NO_MONITOR;
  }

  get native() {
    return false;
  }

  get stallThreshold() {
    return this.#options.threshold;
  }

  get enabled() {
    return this.#timer !== undefined;
  }

  enable() {
    if (this.#closed) throw new Error('async-shape: this event-loop monitor is closed');
    if (this.#timer !== undefined) return false;
    this.#histogram.enable();
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(), 10).unref();
    return true;
  }

  #tick() {
    const now = performance.now();
    const late = now - this.#last - 10;
    this.#last = now;
    if (now - this.#recent.start > this.#options.windowMs / 2) {
      this.#recent = {start: now, max: 0, prevMax: this.#recent.max};
    }
    this.#recent.max = Math.max(this.#recent.max, late);
    if (late >= this.#options.threshold) {
      const stall = {start: round(now - late), duration: round(late), kind: 'unknown', reactions: 0, microtask: 0, macrotask: 0};
      this.#stalls.push(stall);
      if (this.#stalls.length > this.#options.maxStalls) this.#stalls.shift();
      this.#total++;
      this.emit('stall', stall);
    }
  }

  disable() {
    if (this.#timer === undefined) return false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#histogram.disable();
    return true;
  }

  reset() {
    this.#histogram.reset();
    this.#elu = performance.eventLoopUtilization();
  }

  get count() {
    return this.#histogram.count;
  }
  get min() {
    return this.#histogram.min;
  }
  get max() {
    return this.#histogram.max;
  }
  get mean() {
    return this.#histogram.mean;
  }
  get stddev() {
    return this.#histogram.stddev;
  }
  get exceeds() {
    return this.#histogram.exceeds;
  }
  percentile(p) {
    validatePercentile(p);
    return this.#histogram.percentile(p);
  }
  get percentiles() {
    return this.#histogram.percentiles;
  }
  utilization() {
    return performance.eventLoopUtilization(this.#elu).utilization;
  }
  currentStall() {
    return null;
  }
  stalls() {
    return [...this.#stalls];
  }
  get stallCount() {
    return this.#total;
  }
  recent() {
    return {
      max: Math.max(this.#recent.max, this.#recent.prevMax),
      utilization: this.utilization(),
      busy: 0,
    };
  }
  close() {
    this.disable();
    this.#closed = true;
  }
}

/**
 * Watches this thread's event loop: per-iteration busy time in an IntervalHistogram-compatible
 * histogram (ns), stalls seen while they happen, their kind, utilization, pressure. Starts
 * enabled; never keeps the process alive.
 */
function monitorEventLoop(options) {
  const parsed = readOptions(options);
  const monitor = nativeSupported ? new LoopMonitor(parsed) : new FallbackLoopMonitor(parsed);
  monitor.enable();
  return monitor;
}

module.exports = {monitorEventLoop, currentStall, nativeLoopMonitor: nativeSupported};
