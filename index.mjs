// async-shape: ESM entry. `import pLimit, {limitFunction, Pool} from 'async-shape'`.
// index.js is the source of the export list; ESM named exports must be static, so the names are
// repeated here, and __test__/exports.test.mjs fails when this list and index.js's differ.
import api from './index.js';

export const {
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
} = api;
export default pLimit;
