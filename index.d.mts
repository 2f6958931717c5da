// ESM view of index.d.ts: the same declarations, with `pLimit` as the default export.
import {pLimit} from './index.js';

export {pLimit, limitFunction, Pool, QueueFullError, DeadlockError, DroppedError, all, allSettled, race, any, timeout, stream, promisify, callbackify, dezalgo, bridgeStats, monitorEventLoop, currentStall} from './index.js';
export type {
	LimitFunction,
	Options,
	PoolOptions,
	RunOptions,
	TaskContext,
	MapOptions,
	MapContext,
	PoolStats,
	AdaptiveConcurrency,
	AdaptiveStats,
	CancellableContext,
	Task,
	TaskResult,
	GroupOptions,
	RaceOptions,
	StreamOptions,
	PoolStreamOptions,
	MisuseEvent,
	PromisifyOptions,
	BridgeCounts,
	LoopMonitor,
	MonitorEventLoopOptions,
	PressureLimits,
	Stall,
	StallKind,
} from './index.js';
export default pLimit;
