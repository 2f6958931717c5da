// async-shape: ESM entry. `import pLimit, {limitFunction, Pool} from 'async-shape'`.
import api from './index.js';

export const {
  pLimit,
  limitFunction,
  Pool,
  QueueFullError,
  DeadlockError,
  DroppedError,
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
