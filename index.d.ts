// Type definitions for async-shape. Hand-written: the JS layer in lib/ is the public API; the
// native binding underneath talks in integers and is internal.

// ---------------------------------------------------------------------------------------------
// pLimit: the p-limit 7.3 drop-in
// ---------------------------------------------------------------------------------------------

export type LimitFunction = {
	/**
	The number of tasks running now. Incremented synchronously inside `limit()` when a slot is free.
	*/
	readonly activeCount: number;

	/**
	The number of tasks waiting to run (their `fn` has not been called yet).
	*/
	readonly pendingCount: number;

	/**
	Get or set the concurrency limit. Raising it starts queued tasks in a microtask; lowering it lets running tasks finish.
	*/
	concurrency: number;

	/**
	Discard the tasks waiting to run. Running tasks are not affected.

	By default the discarded tasks' promises never settle (p-limit's behaviour). With `rejectOnClear: true` they reject, in queue order, with one shared `AbortError` DOMException.
	*/
	clearQueue: () => void;

	/**
	Process an iterable with limited concurrency: `Promise.all(Array.from(iterable, (item, index) => limit(mapperFunction, item, index)))`.

	The iterable is read eagerly, as p-limit does. For lazy reading of large or async inputs, use `Pool#map`.

	@example
	```
	const limit = pLimit(4);
	const sizes = await limit.map(urls, async (url, index) => (await fetch(url)).headers.get('content-length'));
	```
	*/
	map: <Input, ReturnType>(
		iterable: Iterable<Input>,
		mapperFunction: (input: Input, index: number) => PromiseLike<ReturnType> | ReturnType
	) => Promise<ReturnType[]>;

	/**
	Run `fn(...arguments)` when a slot is free. `fn` is always called asynchronously, with `this` undefined, in the async context (AsyncLocalStorage) of this call.

	Warning: calling the same `limit` inside a function it limits can deadlock. `Pool` with `detectDeadlock: true` detects it.

	@returns A promise that adopts the promise returned by `fn`.
	*/
	<Arguments extends unknown[], ReturnType>(
		function_: (...arguments_: Arguments) => PromiseLike<ReturnType> | ReturnType,
		...arguments_: Arguments
	): Promise<ReturnType>;
};

export type Options = {
	/**
	Concurrency limit: an integer from 1 up, or `Infinity`.
	*/
	readonly concurrency: number;

	/**
	Reject the waiting tasks' promises with an `AbortError` when `clearQueue()` is called.

	@default false
	*/
	readonly rejectOnClear?: boolean;
};

/**
Run promise-returning and async functions with limited concurrency: the same API and semantics as p-limit 7.3, on a Rust core.

@param concurrency - An integer from 1 up or `Infinity`, or an options object.

@example
```
import pLimit from 'async-shape';
// or: const {pLimit} = require('async-shape');

const limit = pLimit(10);
const pages = await Promise.all(urls.map(url => limit(() => fetch(url))));
```
*/
export default function pLimit(concurrency: number | Options): LimitFunction;
export {pLimit};

/**
Returns a function that runs `function_` with limited concurrency.

@example
```
import {limitFunction} from 'async-shape';

const fetchLimited = limitFunction(async (url: string) => fetch(url), {concurrency: 4});
await Promise.all(urls.map(url => fetchLimited(url)));
```
*/
export function limitFunction<Arguments extends unknown[], ReturnType>(
	function_: (...arguments_: Arguments) => PromiseLike<ReturnType>,
	options: Options
): ((...arguments_: Arguments) => Promise<ReturnType>) & Pick<LimitFunction, 'clearQueue'>;

// ---------------------------------------------------------------------------------------------
// Pool: the full bounded pool
// ---------------------------------------------------------------------------------------------

export type PoolOptions = {
	/**
	The most tasks that run at once: an integer from 1 up, or `Infinity`.

	@default Infinity
	*/
	readonly concurrency?: number;

	/**
	A hard cap on waiting tasks. `run()` beyond it rejects at once with a `QueueFullError`. Use `onSizeLessThan()` to wait for room.

	@default Infinity
	*/
	readonly maxQueue?: number;

	/**
	A default timeout in milliseconds for every task, overridable per `run()`.
	*/
	readonly timeout?: number;

	/**
	Reject with a `DeadlockError` a task that a running task of this pool submits when every slot is held by a task waiting on one queued in this same pool (p-limit issue #91). Costs one AsyncLocalStorage context per task.

	@default false
	*/
	readonly detectDeadlock?: boolean;
};

export type RunOptions = {
	/**
	Aborting it removes a waiting task, or rejects a running task's promise with `signal.reason` and frees its slot. The task receives it and should stop.
	*/
	readonly signal?: AbortSignal;

	/**
	Higher starts first; FIFO within a priority. An integer.

	@default 0
	*/
	readonly priority?: number;

	/**
	Milliseconds the task may run. At the deadline its signal aborts and its promise rejects with a `TimeoutError` DOMException. The timer keeps the process alive while the task runs. Values above 2^31-1 and `Infinity` mean no timeout.
	*/
	readonly timeout?: number;
};

export type TaskContext = {
	/**
	Aborts when the task's `signal` aborts or its `timeout` passes. Undefined when the task was given neither.
	*/
	readonly signal?: AbortSignal;
};

export type MapOptions = {
	/**
	Aborting it rejects the map with `signal.reason`, stops reading the input and aborts the mappers' signal.
	*/
	readonly signal?: AbortSignal;

	/**
	`true`: the first error rejects the map, stops reading and aborts the mappers' signal. `false`: every item runs, and errors reject as one `AggregateError` in input order.

	@default true
	*/
	readonly stopOnError?: boolean;
};

export type MapContext = {
	/**
	Aborts when the map stops early (an error with `stopOnError`, or the map's `signal`).
	*/
	readonly signal: AbortSignal;
};

/**
Statistics over the window since the pool was made or last reset. Times are in milliseconds.
*/
export type PoolStats = {
	/** Tasks that fulfilled. */
	readonly completed: number;
	/** Tasks that rejected, timed out or were aborted while running. */
	readonly failed: number;
	readonly active: number;
	readonly pending: number;
	readonly concurrency: number;
	readonly elapsedMs: number;
	/** Settled tasks per second over the window. */
	readonly throughput: number;
	/** From start to settlement. */
	readonly latency: {readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number};
	/** Time spent waiting in the queue. */
	readonly wait: {readonly mean: number; readonly p99: number};
	/** Time-averaged number of running tasks. */
	readonly meanInFlight: number;
	/** Little's law: `throughput × latency.mean`, the concurrency this workload actually needs. */
	readonly littleConcurrency: number;
};

/**
A bounded pool with cancellation, timeouts, priority, backpressure and statistics.

@example
```
import {Pool} from 'async-shape';

const pool = new Pool({concurrency: 16, maxQueue: 1000});
const user = await pool.run(({signal}) => fetch(`/users/${id}`, {signal}), {timeout: 2000, priority: 1});
for await (const line of lines) {
	await pool.onSizeLessThan(1000); // backpressure
	pool.run(() => handle(line));
}
await pool.onIdle();
console.log(pool.stats().littleConcurrency);
```
*/
export class Pool {
	constructor(options?: PoolOptions);

	/** Tasks running now. */
	readonly activeCount: number;
	/** Tasks waiting for a slot. */
	readonly pendingCount: number;
	/** The most tasks that run at once. Raising it starts waiting tasks in a microtask. */
	concurrency: number;

	/**
	Run `task({signal})` when a slot is free, in the async context of this call.

	@example
	```
	const body = await pool.run(async ({signal}) => (await fetch(url, {signal})).text(), {timeout: 5000});
	```
	*/
	run<ReturnType>(task: (context: TaskContext) => PromiseLike<ReturnType> | ReturnType, options?: RunOptions): Promise<ReturnType>;

	/**
	Map an iterable or async iterable through the pool, reading it lazily (at most `concurrency` items ahead). Results come in input order.

	@example
	```
	const sizes = await pool.map(readLines(file), async (line, index, {signal}) => lookup(line, {signal}));
	```
	*/
	map<Input, ReturnType>(
		input: Iterable<Input> | AsyncIterable<Input>,
		mapper: (input: Input, index: number, context: MapContext) => PromiseLike<ReturnType> | ReturnType,
		options?: MapOptions
	): Promise<ReturnType[]>;

	/** Resolves when nothing runs and nothing waits. */
	onIdle(): Promise<void>;
	/** Resolves when nothing waits (tasks may still run). */
	onEmpty(): Promise<void>;
	/** Resolves when fewer than `limit` tasks wait. */
	onSizeLessThan(limit: number): Promise<void>;

	/**
	Empty the queue: each waiting task's promise rejects with `reason` (default: an `AbortError` DOMException). Running tasks go on.
	*/
	clear(reason?: unknown): void;

	/**
	Statistics in Little's-law terms. `{reset: true}` starts a new window after reading.
	*/
	stats(options?: {readonly reset?: boolean}): PoolStats;
}

/** `run()` on a pool whose queue holds `maxQueue` tasks. `code` is `'ASYNC_SHAPE_QUEUE_FULL'`. */
export class QueueFullError extends RangeError {
	readonly name: 'QueueFullError';
	readonly code: 'ASYNC_SHAPE_QUEUE_FULL';
}

/** With `detectDeadlock`, a task that would wait forever on its own pool. `code` is `'ASYNC_SHAPE_DEADLOCK'`. */
export class DeadlockError extends Error {
	readonly name: 'DeadlockError';
	readonly code: 'ASYNC_SHAPE_DEADLOCK';
}
