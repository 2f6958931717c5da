'use strict';
// async-shape: CommonJS entry, and the source of the export list: `index.mjs` re-exports the same
// objects for ESM, and __test__/exports.test.mjs checks that it, index.d.ts and index.d.mts agree.
const {pLimit, limitFunction} = require('./lib/pool/limit');
const {Pool, QueueFullError, DeadlockError, DroppedError} = require('./lib/pool/pool');
const {pMapSkip} = require('./lib/pool/skip');
const {all, allSettled, race, any, timeout} = require('./lib/combinators/group');
const {stream} = require('./lib/combinators/stream');
const {promisify, callbackify, dezalgo, bridgeStats} = require('./lib/bridge/bridge');
const {monitorEventLoop, currentStall} = require('./lib/event-loop/monitor');
const {LeaseLostError, FleetError} = require('./lib/fleet/shared');

module.exports = {
  pLimit,
  limitFunction,
  Pool,
  QueueFullError,
  DeadlockError,
  DroppedError,
  LeaseLostError,
  FleetError,
  pMapSkip,
  all,
  allSettled,
  race,
  any,
  timeout,
  stream,
  promisify,
  callbackify,
  dezalgo,
  bridgeStats,
  monitorEventLoop,
  currentStall,
  default: pLimit,
};
// TypeScript's and bundlers' CJS interop then map `import pLimit from 'async-shape'` to `.default`.
Object.defineProperty(module.exports, '__esModule', {value: true});
