/// <reference types="node" />
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

	The iterable is read eagerly, as p-limit does, and its elements are passed as they are (a promise element is not awaited, as in p-limit). For lazy reading of large or async inputs, use `Pool#map`.

	There is no skip marker here: p-limit's `map` is `Promise.all` over `limit` calls, so `pMapSkip` is a result like any other. Use `Pool#map` or `stream` to leave items out.

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

/**
An adaptive concurrency limit: the limit moves from the latency and the outcomes of completed tasks to stay at the downstream's knee. `'adaptive'` is `{adaptive: 'vegas'}`.
*/
export type AdaptiveConcurrency = {
	/**
	The controller. `'vegas'` (the default) keeps the requests queued at the downstream (estimated by Little's law from latency) near zero. `'gradient'` follows Netflix's Gradient2. `'aimd'` grows while latency stays within 1.25× its minimum.
	*/
	readonly adaptive: 'vegas' | 'gradient' | 'aimd' | true;
	/** @default 1 */
	readonly min?: number;
	/** @default 1000 */
	readonly max?: number;
	/** @default 4 (within min and max) */
	readonly initial?: number;
};

/**
p-limit 7.3's options, exactly: a fixed `concurrency`. For an adaptive limit, see `AdaptiveOptions`.
*/
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
`pLimit`'s and `limitFunction`'s options where the limit may be adaptive: `Options` with `concurrency` also `'adaptive'` or an `AdaptiveConcurrency`, and `onLimitChange`. (Earlier versions named this type `Options`.)
*/
export type AdaptiveOptions = {
	/**
	Concurrency limit: an integer from 1 up, or `Infinity`; or `'adaptive'` / an `AdaptiveConcurrency`, whose limit moves by itself.
	*/
	readonly concurrency: number | 'adaptive' | AdaptiveConcurrency;

	/**
	Called with the new limit whenever an adaptive limit changes.
	*/
	readonly onLimitChange?: (limit: number) => void;

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
/**
A limit for the whole fleet: `concurrency` tasks at once across every process that uses the same Redis `key` (see `SharedOptions` and the README's "A limit for the whole fleet").

@example
```
const limit = pLimit({concurrency: 20, shared: {redis: process.env.REDIS_URL, key: 'payments-api'}});
await limit.ready();
const receipts = await Promise.all(orders.map(order => limit(() => charge(order))));
await limit.close(); // returns this process's permits
```
*/
export default function pLimit(options: SharedLimitOptions): SharedLimitFunction;
/**
Run promise-returning and async functions with a limit that may be adaptive: `'adaptive'`, an `AdaptiveConcurrency`, or `AdaptiveOptions` (see the README's "Adaptive concurrency").

@example
```
const limit = pLimit({concurrency: 'adaptive', onLimitChange: limit => metrics.gauge('limit', limit)});
```
*/
export default function pLimit(concurrency: number | 'adaptive' | AdaptiveConcurrency | AdaptiveOptions): LimitFunction;
export {pLimit};

// ---------------------------------------------------------------------------------------------
// A limit for the whole fleet (shared through Redis)
// ---------------------------------------------------------------------------------------------

/**
What the fleet's limit does while Redis cannot be reached: `'wait'` starts nothing beyond the permits this process still holds under a live lease (the fleet limit holds); `'local'` runs under `localConcurrency` in this process alone until Redis answers again (the fleet limit may then be exceeded, by up to `localConcurrency` per process).
*/
export type SharedOptions = {
	/**
	The Redis server: `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS (see `tls`). A password alone, or an ACL user and its password, go in the URL; no `#fragment`.
	*/
	readonly redis: string;
	/**
	TLS options of a `rediss://` URL (a TypeError with `redis://`). Without them the server's certificate is checked against the bundled Mozilla roots, as Node's `tls` does.
	*/
	readonly tls?: SharedTlsOptions;
	/**
	The limit's name: every process that passes the same `key` (and the same `concurrency`) shares one limit. Its keys in Redis are `async-shape:{key}:…`, one hash tag, so Redis Cluster keeps them on one node.
	*/
	readonly key: string;
	/**
	How long a lease lives unless renewed, in ms (100 to 3,600,000). A process killed without closing returns its permits within this time; one that cannot renew in time (Redis unreachable, or its event loop blocked) stops starting tasks and aborts its running tasks' signals when it runs out.

	@default 5000
	*/
	readonly leaseMs?: number;
	/**
	Once another process waits, how long this one keeps re-using freed permits for its own queued tasks before they go back to the fleet queue, in ms (0 to 60,000). Larger: fewer round trips, longer waits for the others; 0: every freed permit goes back at once.

	@default 10
	*/
	readonly quantumMs?: number;
	/**
	Called on the fleet's events, on its own (a throw is an uncaught exception, never the pool's).
	*/
	readonly onEvent?: (event: FleetEvent) => void;
} & (
	| {
			/** @default 'wait' */
			readonly onStoreDown?: 'wait';
			readonly localConcurrency?: never;
	  }
	| {
			readonly onStoreDown: 'local';
			/** The limit of this process while Redis is down (at most `concurrency`). */
			readonly localConcurrency: number;
	  }
);

/**
How a `rediss://` connection checks the server, with Node's `tls` option names. The name checked is the URL's host: a DNS name, or an IP address the certificate lists.
*/
export type SharedTlsOptions = {
	/**
	PEM certificates to trust instead of the bundled roots (a private CA): a string or a Buffer, or an array of them.
	*/
	readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
	/**
	`false`: the server's certificate is not checked at all (tests against a self-signed server only).

	@default true
	*/
	readonly rejectUnauthorized?: boolean;
};

/**
An event of a fleet's limit. `storeDown`/`storeUp`: Redis stopped or started answering (`detail`: the cause). `leaseLost`: this process's lease ran out before it was renewed; it starts nothing until it is registered again, and a `Pool`'s running tasks reject with `error` (a `LeaseLostError`) and their signals abort (fencing). `leaseRegained`: registered again. `fatal`: a permanent failure (a wrong password, an ACL refusal, a TLS handshake failure, a script error): every waiting and later task rejects with `error`.
*/
export type FleetEvent = {
	readonly type: 'storeDown' | 'storeUp' | 'leaseLost' | 'leaseRegained' | 'fatal';
	readonly detail?: string;
	readonly error?: Error;
};

/**
The fleet's figures as this process sees them (as of its last answer from Redis).
*/
export type FleetStats = {
	/** The fleet's limit (`concurrency`). */
	readonly limit: number;
	/** Permits this process holds now: its share. */
	readonly held: number;
	/** Processes holding permits. */
	readonly holders: number;
	/** Permits held across the fleet (at most `limit`). */
	readonly inFlight: number;
	/** Processes waiting in the fleet's queue. */
	readonly fleetQueue: number;
	/** Whether Redis answers. */
	readonly storeUp: boolean;
	/** Milliseconds until this process's lease runs out unless renewed (0 when it holds none). */
	readonly leaseRemainingMs: number;
	/** Permits granted to this process so far. */
	readonly grants: number;
	/** Permits it returned so far. */
	readonly returned: number;
	/** Script calls to Redis so far (round trips). */
	readonly roundTrips: number;
	/** Its longest wait for a permit, in ms. */
	readonly maxWaitMs: number;
	/** How many times it lost its lease (fencing). */
	readonly fenced: number;
	/** Whether it is registered (`ready()` resolved). */
	readonly ready: boolean;
};

/**
`pLimit`'s options for a limit shared by a fleet: `concurrency` is the fleet's limit (a finite integer, the same in every process).
*/
export type SharedLimitOptions = {
	readonly concurrency: number;
	readonly shared: SharedOptions;
	readonly rejectOnClear?: boolean;
};

/**
A limit function shared by a fleet: p-limit's `LimitFunction` plus the fleet's lifecycle. Its tasks get no signal: when the lease is lost, fencing stops new starts, not running tasks (use a `Pool` with `shared` for that).
*/
export type SharedLimitFunction = LimitFunction & {
	/** Resolves once this process is registered in its fleet; rejects with a `FleetError` when it cannot be (a wrong password, no server answering within 5 s, …). */
	ready(): Promise<void>;
	/** Later calls reject, waiting tasks reject (an `AbortError`), and once the running ones settled the permits go back to the fleet and the connection closes. */
	close(): Promise<void>;
	/** The fleet's figures as this process sees them. */
	readonly fleet: FleetStats;
};

/** A task's rejection, and its signal's reason, when this process lost its fleet lease (fencing). `code` is `'ASYNC_SHAPE_LEASE_LOST'`. */
export class LeaseLostError extends Error {
	readonly name: 'LeaseLostError';
	readonly code: 'ASYNC_SHAPE_LEASE_LOST';
}

/** A permanent failure of a shared limit (a wrong password, an ACL refusal, a script error), or `ready()` when no server answered in time. `code` is `'ASYNC_SHAPE_FLEET'`. */
export class FleetError extends Error {
	readonly name: 'FleetError';
	readonly code: 'ASYNC_SHAPE_FLEET';
}

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
/**
Returns a function that runs `function_` with a limit that may be adaptive (`AdaptiveOptions`).
*/
export function limitFunction<Arguments extends unknown[], ReturnType>(
	function_: (...arguments_: Arguments) => PromiseLike<ReturnType>,
	options: AdaptiveOptions
): ((...arguments_: Arguments) => Promise<ReturnType>) & Pick<LimitFunction, 'clearQueue'>;

// ---------------------------------------------------------------------------------------------
// Pool: the full bounded pool
// ---------------------------------------------------------------------------------------------

export type PoolOptions = {
	/**
	The most tasks that run at once: an integer from 1 up, or `Infinity`; or `'adaptive'` / an `AdaptiveConcurrency`, whose limit moves by itself.

	@default Infinity
	*/
	readonly concurrency?: number | 'adaptive' | AdaptiveConcurrency;

	/**
	Called with the new limit whenever an adaptive limit changes (to export it to your metrics).
	*/
	readonly onLimitChange?: (limit: number) => void;

	/**
	A hard cap on waiting tasks. `run()` beyond it rejects at once with a `QueueFullError`. Use `onSizeLessThan()` to wait for room.

	It bounds `run()` only: `map()` and `stream()` bound their own items (`map()` reads at most the pool's concurrency ahead, `stream()` its `backpressure`) and never reject with a `QueueFullError`; their queued items count toward `run()`'s cap.

	@default Infinity
	*/
	readonly maxQueue?: number;

	/**
	A default timeout in milliseconds for every task, overridable per `run()`.
	*/
	readonly timeout?: number;

	/**
	Reject with a `DeadlockError` a task that a running task of this pool submits when every slot is held by a task waiting on one queued in this same pool, directly or through running tasks it submitted (`pool.run(() => pool.run(() => pool.run(…)))`; p-limit issue #91). Costs one AsyncLocalStorage context per task.

	@default false
	*/
	readonly detectDeadlock?: boolean;

	/**
	A limit for the whole fleet: `concurrency` (a finite integer, the same in every process) is then the limit across every process using the same Redis `key`. Not with an adaptive `concurrency`.
	*/
	readonly shared?: SharedOptions;
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
	The run's `signal`, or with a `timeout` a signal that also aborts when the timeout passes. `undefined` for a task given neither, as p-queue passes it: nothing could abort such a task, and making a signal per task would cost every task that destructures `({signal})` an `AbortController`. (`MapContext.signal` is always a signal: a map makes one for all its items.) In a pool with `shared`, always a signal: it also aborts when this process loses its fleet lease (fencing).
	*/
	readonly signal: AbortSignal | undefined;

	/**
	Marks this task dropped (the downstream refused it, say with a 429): it counts in `stats().dropped`, and an adaptive pool takes it as congestion, not as a success. Works detached: `({drop}) => …`.
	*/
	readonly drop: () => void;
};

export type MapOptions = {
	/**
	Aborting it rejects the map with `signal.reason`, stops reading the input and aborts the mappers' signal. `undefined` is no signal (as in p-map's options).
	*/
	readonly signal?: AbortSignal | undefined;

	/**
	`true`: the first error (a mapper's, or a rejected element's) rejects the map, stops reading and aborts the mappers' signal. `false`: every item runs, and the errors reject as one `AggregateError` with an empty message and the errors in input order, as p-map's.

	@default true
	*/
	readonly stopOnError?: boolean;
};

/**
Return it from a mapper of `Pool#map`, `stream()`, `Pool#stream` or `limit.map` (or resolve to it) to leave the item out of the results, as p-map's `pMapSkip` does. `Pool#map` and the streams also recognize p-map's own `pMapSkip` (an unregistered symbol described `'skip'`); `limit.map` only this one.

@example
```
import {Pool, pMapSkip} from 'async-shape';

const found = await new Pool({concurrency: 8}).map(ids, async id => (await lookup(id)) ?? pMapSkip);
```
*/
export const pMapSkip: unique symbol;

/**
What a mapper's result type becomes in the results: without skip markers. That is async-shape's `pMapSkip` and any other unique symbol, so a mapper typed with p-map's `Mapper` (whose result includes p-map's `pMapSkip` and `pMapStop`) gives the same result types as under p-map. A plain `symbol` stays. (p-map's `pMapStop` is not implemented: a mapper that returns it gets it in the results.)
*/
type Unskipped<T> = T extends symbol ? (symbol extends T ? T : never) : T;

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
	/** Tasks that marked themselves dropped (`drop()` or a thrown `DroppedError`). */
	readonly dropped: number;
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
	/** An adaptive pool's controller, absent for a fixed limit. */
	readonly adaptive?: AdaptiveStats;
	/** A shared pool's fleet figures, absent for a local pool. */
	readonly fleet?: FleetStats;
};

/** An adaptive pool's controller state. Times in ms. */
export type AdaptiveStats = {
	readonly algorithm: 'vegas' | 'gradient' | 'aimd';
	readonly limit: number;
	/** Minimum smoothed latency over the last 30 s (corrected for noise). */
	readonly minRtt: number;
	/** The last window's mean latency. */
	readonly rtt: number;
	/** Vegas: the requests estimated to wait at the downstream. */
	readonly queue?: number;
	/** Gradient: the last gradient. */
	readonly gradient?: number;
	/** AIMD: latency over its minimum. */
	readonly latencyRatio?: number;
	/** The last 256 limit changes; `time` on a monotonic ms clock. */
	readonly history: ReadonlyArray<{readonly time: number; readonly limit: number}>;
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
	Map an iterable or async iterable through the pool, reading it lazily (at most `concurrency` items ahead). Each element is awaited before its mapper is called, as p-map does. Results come in input order; a mapper that returns `pMapSkip` leaves its item out.

	@example
	```
	const sizes = await pool.map(readLines(file), async (line, index, {signal}) => lookup(line, {signal}));
	```
	*/
	map<Element, ReturnType>(
		input: Iterable<Element> | AsyncIterable<Element>,
		mapper: (
			input: Awaited<Element>,
			index: number,
			context: MapContext
		) => PromiseLike<ReturnType | typeof pMapSkip> | ReturnType | typeof pMapSkip,
		options?: MapOptions
	): Promise<Array<Unskipped<Awaited<ReturnType>>>>;

	/**
	A bounded stream (see `stream`) whose mappers run on this pool, at most the pool's `concurrency` at once.
	*/
	stream<Element, Output>(
		input: Iterable<Element> | AsyncIterable<Element>,
		mapper: (input: Awaited<Element>, index: number, context: MapContext) => PromiseLike<Output | typeof pMapSkip> | Output | typeof pMapSkip,
		options?: PoolStreamOptions
	): StreamIterator<Unskipped<Awaited<Output>>>;

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

	/**
	Resolves once a shared pool is registered in its fleet; rejects with a `FleetError` when it cannot be. A local pool is always ready.
	*/
	ready(): Promise<void>;

	/**
	Close the pool: later `run()`s reject and waiting tasks reject (an `AbortError` DOMException); once the running tasks have settled, a shared pool returns its permits to the fleet and closes its connection. Resolves when done; the same promise on later calls.
	*/
	close(): Promise<void>;
}

/** `run()` on a pool whose queue holds `maxQueue` tasks. `code` is `'ASYNC_SHAPE_QUEUE_FULL'`. */
export class QueueFullError extends RangeError {
	readonly name: 'QueueFullError';
	readonly code: 'ASYNC_SHAPE_QUEUE_FULL';
}

/**
Thrown by a task to say the downstream refused it: the task's promise rejects with it, `stats().dropped` counts it, and an adaptive pool takes it as congestion. `code` is `'ASYNC_SHAPE_DROPPED'`.

@example
```
await pool.run(async ({signal}) => {
	const res = await fetch(url, {signal});
	if (res.status === 429) throw new DroppedError('rate limited');
	return res.json();
});
```
*/
export class DroppedError extends Error {
	constructor(message?: string, options?: ErrorOptions);
	readonly name: 'DroppedError';
	readonly code: 'ASYNC_SHAPE_DROPPED';
}

/** With `detectDeadlock`, a task that would wait forever on its own pool. `code` is `'ASYNC_SHAPE_DEADLOCK'`. */
export class DeadlockError extends Error {
	readonly name: 'DeadlockError';
	readonly code: 'ASYNC_SHAPE_DEADLOCK';
}

// ---------------------------------------------------------------------------------------------
// Combinators that cancel, and bounded streams
// ---------------------------------------------------------------------------------------------

/**
What a combinator's task receives. Reading `signal` creates its AbortController, so a task that never reads it costs none.
*/
export type CancellableContext = {
	/** Aborts when the task loses, is left over, times out, or the outer signal aborts. */
	readonly signal: AbortSignal;
};

/**
A task, `({signal}) => value | PromiseLike`, or a plain promise or value (those cannot be cancelled).
*/
export type Task<T> = ((context: CancellableContext) => PromiseLike<T> | T) | PromiseLike<T> | T;

/**
What the tuple overloads of `all`, `allSettled`, `race` and `any` take: any array (a promise or a plain value is some `{} | null | undefined`), whose function elements are typed as tasks, so that a task written inline gets its context's type: `all([({signal}) => fetch(url, {signal})])`.
*/
type TaskList = readonly (((context: CancellableContext) => TaskListResult) | {} | null | undefined)[];

// A task's result in a TaskList: any value (`{} | null | undefined`). The literal members change
// nothing in what is accepted; they keep a synchronous task's literal result literal
// (`all([() => 1])` is `Promise<[1]>`, as without a contextual type), since TypeScript widens a
// literal return unless the contextual return type has a literal of the same primitive. (Not
// `Task<…>`: its PromiseLike member would make `Promise.resolve('s')` in the list a `Promise<'s'>`.)
type TaskListResult = {} | null | undefined | '' | 0 | 0n | false;

/** The value a `Task<T>` produces. */
export type TaskResult<T> = T extends (context: CancellableContext) => infer R ? Awaited<R> : Awaited<T>;

export type GroupOptions = {
	/** Aborting it rejects with `signal.reason` and aborts every running task. */
	readonly signal?: AbortSignal;
	/**
	At most this many tasks run at once, started in input order.

	@default Infinity
	*/
	readonly concurrency?: number;
	/** Per-task running time in ms: at the deadline the task's signal aborts and it rejects with a `TimeoutError`. */
	readonly timeout?: number;
};

export type RaceOptions = {
	/** Aborting it rejects with `signal.reason` and aborts every task. */
	readonly signal?: AbortSignal;
};

/**
Like `Promise.all`, but the tasks are cancelled: on the first rejection every running task's signal aborts, no queued task starts, and the promise rejects with that error.

@example
```
import {all} from 'async-shape';

const [user, orders] = await all([
	({signal}) => fetch('/user', {signal}).then(r => r.json()),
	({signal}) => fetch('/orders', {signal}).then(r => r.json()),
], {timeout: 5000});
```
*/
export function all<const Tasks extends TaskList>(
	tasks: Tasks,
	options?: GroupOptions
): Promise<{-readonly [K in keyof Tasks]: TaskResult<Tasks[K]>}>;
export function all<T>(tasks: Iterable<Task<T>>, options?: GroupOptions): Promise<Array<TaskResult<Task<T>>>>;

/**
Every outcome, `{status, value | reason}`, in input order. With `timeout`, a task past its deadline is aborted and counts as rejected with a `TimeoutError`.

@example
```
const outcomes = await allSettled(urls.map(url => ({signal}) => fetch(url, {signal})), {concurrency: 8, timeout: 2000});
```
*/
export function allSettled<const Tasks extends TaskList>(
	tasks: Tasks,
	options?: GroupOptions
): Promise<{-readonly [K in keyof Tasks]: PromiseSettledResult<TaskResult<Tasks[K]>>}>;
export function allSettled<T>(
	tasks: Iterable<Task<T>>,
	options?: GroupOptions
): Promise<Array<PromiseSettledResult<TaskResult<Task<T>>>>>;

/**
The first task to settle wins, and every loser's signal aborts, also when the winner rejects. An empty input rejects with a `RangeError` (`Promise.race([])` would hang forever). A task that settles synchronously wins before later tasks are called.

@example
```
const fastest = await race(mirrors.map(url => ({signal}) => fetch(url, {signal})));
```
*/
export function race<const Tasks extends TaskList>(
	tasks: Tasks,
	options?: RaceOptions
): Promise<TaskResult<Tasks[number]>>;
export function race<T>(tasks: Iterable<Task<T>>, options?: RaceOptions): Promise<TaskResult<Task<T>>>;

/**
The first fulfilment wins and the other tasks are aborted. If every task rejects: an `AggregateError` with the errors in input order (also for an empty input, as `Promise.any` does).
*/
export function any<const Tasks extends TaskList>(
	tasks: Tasks,
	options?: RaceOptions
): Promise<TaskResult<Tasks[number]>>;
export function any<T>(tasks: Iterable<Task<T>>, options?: RaceOptions): Promise<TaskResult<Task<T>>>;

/**
Runs `task({signal})` (or awaits a promise) for at most `ms` milliseconds. At the deadline the task's signal aborts and the promise rejects with a `TimeoutError` DOMException. The timer keeps the process alive while the task runs and is cleared as soon as it settles. `Infinity` (or more than 2^31-1) means no timer.

@example
```
const body = await timeout(({signal}) => fetch(url, {signal}).then(r => r.text()), 3000);
```
*/
export function timeout<T>(task: Task<T>, ms: number, options?: RaceOptions): Promise<TaskResult<Task<T>>>;

export type StreamOptions = {
	/**
	The most mappers running at once: an integer from 1 up, or `Infinity`, as p-map's `pMapIterable`.

	@default Infinity
	*/
	readonly concurrency?: number;
	/**
	The most items taken from `input` and not yet taken by the consumer: those being read, mapped, and the results waiting to be taken (a skipped one counts until the consumer steps over it). An integer from `concurrency` up, or `Infinity`, as p-map's `pMapIterable`. This is what bounds memory: give an endless source a finite `concurrency` or `backpressure`.

	@default concurrency
	*/
	readonly backpressure?: number;
	/**
	`true`: yield in input order. `false`: yield as results land.

	@default true
	*/
	readonly ordered?: boolean;
	/** Aborting it ends the stream with `signal.reason`, aborts the mappers and closes the source. `undefined` is no signal. */
	readonly signal?: AbortSignal | undefined;
};

/** `Pool#stream`'s options: the mappers run on the pool, within its `concurrency`. */
export type PoolStreamOptions = {
	/**
	The most of this stream's mappers running, and elements read ahead of them. An integer from 1 up, or `Infinity`; the pool's own `concurrency` bounds the mappers too.

	@default the pool's concurrency when the stream starts, or `backpressure` if that is lower
	*/
	readonly concurrency?: number;
	/**
	The most items taken from `input` and not yet taken by the consumer (see `StreamOptions.backpressure`). An integer from this stream's `concurrency` up, or `Infinity`.

	@default this stream's `concurrency`
	*/
	readonly backpressure?: number;
	/**
	`true`: yield in input order. `false`: yield as results land.

	@default true
	*/
	readonly ordered?: boolean;
	/** Aborting it ends the stream with `signal.reason`, aborts the mappers and closes the source. `undefined` is no signal. */
	readonly signal?: AbortSignal | undefined;
};

/**
What `stream()` and `Pool#stream()` return: an async iterator that is its own async iterable (use it once). Every method is typed precisely on any TypeScript version (unlike `AsyncIterableIterator<T>`, whose done `value` is `any` from TypeScript 5.6): a done result's `value` is `undefined`, or the value given to `return(value)`.
*/
export interface StreamIterator<T> extends AsyncIterable<T> {
	/** The next result, in input order when `ordered`; `{value: undefined, done: true}` once the stream has ended or was closed. */
	next(): Promise<IteratorResult<T, undefined>>;
	/** Closes the stream (the source's `return()` is called, the mappers' signal aborts); resolves `{value, done: true}`. A `next()` still pending settles first, as done. */
	return(): Promise<IteratorReturnResult<undefined>>;
	return<R>(value: R): Promise<IteratorReturnResult<R>>;
	/** Closes the stream as `return()` does, and rejects with `error` (it never fulfils; typed as `next()` is, which `for await` requires). */
	throw(error?: unknown): Promise<IteratorResult<T, undefined>>;
	[Symbol.asyncIterator](): StreamIterator<T>;
}

/**
An async iterable of `mapper(item, index, {signal})` over `input`, as p-map's `pMapIterable`: at most `concurrency` mappers in flight, and at most `backpressure` items read ahead of the consumer. Each element is awaited before its mapper is called; a mapper that returns `pMapSkip` leaves its item out. The source is closed on `break`, on error and on abort. A mapper's error ends the stream (in input order when `ordered`).

With the defaults (`concurrency: Infinity`, so `backpressure: Infinity`), nothing bounds how far `input` is read ahead: give an endless or large source a finite `concurrency` (or `backpressure`), and memory stays O(backpressure) however long the input.

@example
```
import {stream} from 'async-shape';

for await (const row of stream(readLines('big.csv'), (line, i, {signal}) => enrich(line, {signal}), {concurrency: 16})) {
	await write(row);
}
```
*/
export function stream<Element, Output>(
	input: Iterable<Element> | AsyncIterable<Element>,
	mapper: (input: Awaited<Element>, index: number, context: MapContext) => PromiseLike<Output | typeof pMapSkip> | Output | typeof pMapSkip,
	options?: StreamOptions
): StreamIterator<Unskipped<Awaited<Output>>>;

// ---------------------------------------------------------------------------------------------
// The always-async callback bridge
// ---------------------------------------------------------------------------------------------

/** A misuse of a callback API, as `onMisuse` receives it. */
export type MisuseEvent = {
	/**
	`'sync-callback'`: the callback ran inside the call (Zalgo; the promise still settles asynchronously).
	`'double-callback'`: it ran again after the outcome was settled.
	`'dropped-error'`: an error would have been lost (a late callback's error, a throw after the callback).
	*/
	readonly kind: 'sync-callback' | 'double-callback' | 'dropped-error';
	/** The wrapped function's name (or `options.name`). */
	readonly name: string;
	/** How many misuses of this kind this name has had so far. */
	readonly count: number;
	/** The error that was ignored, if any. */
	readonly error?: unknown;
	/** The value that was ignored, for a double callback without an error. */
	readonly value?: unknown;
};

export type PromisifyOptions = {
	/** Resolve with every success argument, as an array (typed as the tuple of the callback's value parameters). @default false */
	readonly multiArgs?: boolean;
	/** Receives every misuse instead of the default process warnings (which back off: occurrences 1–10, then 16, 32, …). */
	readonly onMisuse?: (event: MisuseEvent) => void;
	/** The name used in warnings and statistics (a string, else a TypeError). @default original.name */
	readonly name?: string;
};

/** A Node-style callback. */
type Callback<T> = (error: unknown, value?: T) => void;
/** A Node-style callback with any number of values. */
type MultiCallback<Values extends unknown[]> = (error: unknown, ...values: Values) => void;
/** Options that resolve the first value (`multiArgs` absent or false). */
type SingleValueOptions = PromisifyOptions & {readonly multiArgs?: false};
/** Options that resolve every value as an array. */
type MultiArgsOptions = PromisifyOptions & {readonly multiArgs: true};

/**
A drop-in for `util.promisify` that also settles once, turns a synchronous throw into a rejection, counts callbacks fired inside the call, and reports a second callback (with the value or error it carried) instead of dropping it. `util.promisify.custom` is honoured. Where the running Node's `util.promisify` warns that the original returned a promise (DEP0174), so does this.

With `{multiArgs: true}` the promise resolves with every success value as an array, typed as the tuple of the callback's value parameters.

@example
```
import {readFile} from 'node:fs';
import {promisify} from 'async-shape';

const read = promisify(readFile);
const text = await read('config.json', 'utf8');

const both = promisify((callback: (error: Error | null, status: number, body: string) => void) => get(callback), {multiArgs: true});
const [status, body] = await both(); // [status: number, body: string]
```
*/
export function promisify<TCustom extends (...args: never[]) => unknown>(
	original: {[promisify.custom]: TCustom},
	options?: PromisifyOptions
): TCustom;
export function promisify<Values extends unknown[]>(
	original: (callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): () => Promise<Values>;
export function promisify<Values extends unknown[], A1>(
	original: (a1: A1, callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): (a1: A1) => Promise<Values>;
export function promisify<Values extends unknown[], A1, A2>(
	original: (a1: A1, a2: A2, callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): (a1: A1, a2: A2) => Promise<Values>;
export function promisify<Values extends unknown[], A1, A2, A3>(
	original: (a1: A1, a2: A2, a3: A3, callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): (a1: A1, a2: A2, a3: A3) => Promise<Values>;
export function promisify<Values extends unknown[], A1, A2, A3, A4>(
	original: (a1: A1, a2: A2, a3: A3, a4: A4, callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): (a1: A1, a2: A2, a3: A3, a4: A4) => Promise<Values>;
export function promisify<Values extends unknown[], A1, A2, A3, A4, A5>(
	original: (a1: A1, a2: A2, a3: A3, a4: A4, a5: A5, callback: MultiCallback<Values>) => void,
	options: MultiArgsOptions
): (a1: A1, a2: A2, a3: A3, a4: A4, a5: A5) => Promise<Values>;
export function promisify(original: (...args: never[]) => void, options: MultiArgsOptions): (...args: unknown[]) => Promise<unknown[]>;
/** A function with a `__promisify__` declaration (Node's own callback APIs in @types/node): its promisified form, as `util.promisify`'s types read it. */
export function promisify<TCustom extends (...args: never[]) => unknown>(
	original: {__promisify__: TCustom},
	options?: SingleValueOptions
): TCustom;
export function promisify<T>(original: (callback: Callback<T>) => void, options?: SingleValueOptions): () => Promise<T>;
export function promisify<T, A1>(original: (a1: A1, callback: Callback<T>) => void, options?: SingleValueOptions): (a1: A1) => Promise<T>;
export function promisify<T, A1, A2>(
	original: (a1: A1, a2: A2, callback: Callback<T>) => void,
	options?: SingleValueOptions
): (a1: A1, a2: A2) => Promise<T>;
export function promisify<T, A1, A2, A3>(
	original: (a1: A1, a2: A2, a3: A3, callback: Callback<T>) => void,
	options?: SingleValueOptions
): (a1: A1, a2: A2, a3: A3) => Promise<T>;
export function promisify<T, A1, A2, A3, A4>(
	original: (a1: A1, a2: A2, a3: A3, a4: A4, callback: Callback<T>) => void,
	options?: SingleValueOptions
): (a1: A1, a2: A2, a3: A3, a4: A4) => Promise<T>;
export function promisify<T, A1, A2, A3, A4, A5>(
	original: (a1: A1, a2: A2, a3: A3, a4: A4, a5: A5, callback: Callback<T>) => void,
	options?: SingleValueOptions
): (a1: A1, a2: A2, a3: A3, a4: A4, a5: A5) => Promise<T>;
/** Any other function, or options whose `multiArgs` is not known to be `true` or `false`: the value is `unknown`. */
export function promisify(original: (...args: never[]) => void, options?: PromisifyOptions): (...args: unknown[]) => Promise<unknown>;
export namespace promisify {
	/** The same symbol as `util.promisify.custom`. */
	const custom: typeof import('node:util').promisify.custom;
}

/**
A drop-in for `util.callbackify` whose callback is always called asynchronously and exactly once, also when `original` returns a plain value or throws synchronously. A rejection with a falsy value arrives as an `ERR_FALSY_VALUE_REJECTION` error with `.reason`. A throw inside the callback is an uncaught exception, never a rejection.

@example
```
const legacy = callbackify(async (id: string) => db.load(id));
legacy('42', (error, row) => { … });
```
*/
export function callbackify<T>(original: () => PromiseLike<T> | T): (callback: (error: unknown, value: T) => void) => void;
export function callbackify<T, A1>(original: (a1: A1) => PromiseLike<T> | T): (a1: A1, callback: (error: unknown, value: T) => void) => void;
export function callbackify<T, A1, A2>(
	original: (a1: A1, a2: A2) => PromiseLike<T> | T
): (a1: A1, a2: A2, callback: (error: unknown, value: T) => void) => void;
export function callbackify<T, A1, A2, A3>(
	original: (a1: A1, a2: A2, a3: A3) => PromiseLike<T> | T
): (a1: A1, a2: A2, a3: A3, callback: (error: unknown, value: T) => void) => void;
export function callbackify(original: (...args: never[]) => unknown): (...args: unknown[]) => void;

/**
Wraps `callback` so that it never runs in the same tick as this call: a call made before the current synchronous code and its microtasks have finished is deferred with `process.nextTick`; later calls run at once.
*/
export function dezalgo<Args extends unknown[]>(callback: (...args: Args) => void): (...args: Args) => void;

/** Misuse counts of one wrapped function name. */
export type BridgeCounts = {
	readonly syncCallbacks: number;
	readonly doubleCallbacks: number;
	readonly droppedErrors: number;
};

/**
Misuse counts per wrapped function name, for the names with any. `{reset: true}` zeroes them after reading.
The registry is bounded: beyond 4,096 live names, new names share the entry `"(other functions)"`.
*/
export function bridgeStats(options?: {readonly reset?: boolean}): Record<string, BridgeCounts>;

/** What kept the event loop busy during a stall. `'unknown'` only from the perf_hooks fallback. */
export type StallKind = 'macrotask' | 'microtask-burst' | 'long-microtask' | 'mixed' | 'unknown';

/** A stall: one loop iteration busy for at least the monitor's `stallThreshold`. Times in ms. */
export type Stall = {
	/** When it started, on this thread's `performance.now()` time line. */
	readonly start: number;
	/** How long the loop was busy (for `currentStall()`: so far). */
	readonly duration: number;
	readonly kind: StallKind;
	/**
	Promise reactions counted during the stall: the library's own task starts and callbacks always, every reaction with `trackPromises`.
	*/
	readonly reactions: number;
	/** The time spent in promise reactions (from the watchdog's samples). */
	readonly microtask: number;
	/** The rest: synchronous code in a macrotask (a timer, an I/O callback, ...), native code, GC. */
	readonly macrotask: number;
};

export type MonitorEventLoopOptions = {
	/** A loop iteration busy this long (ms) is a stall. Default 50. */
	readonly stallThreshold?: number;
	/** The recent window `pressure()` looks at, in ms. Default 1000. */
	readonly window?: number;
	/** How many finished stalls `stalls()` keeps. Default 100. */
	readonly maxStalls?: number;
	/**
	Write one line to stderr from the watchdog thread while the loop is still blocked (once per stall). It applies to every monitor of the thread from then on. Default false.
	*/
	readonly logBlocked?: boolean;
	/**
	Count every promise reaction (`v8.promiseHooks`: about +16 ns an `await` in the benchmark, up to +70 ns elsewhere; a burst of reactions runs 15-30% slower) so that attribution also sees code outside the library. `'auto'`: switch it on after the first stall. Default false.
	*/
	readonly trackPromises?: boolean | 'auto';
};

export type PressureLimits = {
	/** A stall in progress, or an iteration in the recent window, this long (ms) is pressure. Default: `stallThreshold`. */
	readonly maxDelay?: number;
	/** Utilization (0..1] over the recent window at or above this is pressure. Not checked by default. */
	readonly maxUtilization?: number;
};

/**
An event-loop monitor. Its histogram side matches `perf_hooks`' `IntervalHistogram` (values in ns), so dashboards switch without change; but each sample is one loop iteration's busy time (wall time minus the time asleep in epoll), with no timer resolution floor and no forced wake-ups.
*/
export interface LoopMonitor extends NodeJS.EventEmitter {
	/** Process-wide id: pass it to a worker, which can call `currentStall(id)` while this loop is blocked. 0 for the fallback. */
	readonly id: number;
	/** false when the perf_hooks fallback is in use (no libuv in the host: Bun, Deno). */
	readonly native: boolean;
	readonly stallThreshold: number;
	readonly enabled: boolean;
	/** Starts sampling (a monitor starts enabled). Returns false if it already was enabled. Never invents a phantom delay for the disabled gap. */
	enable(): boolean;
	/** Stops sampling; the histogram and stalls are kept. Returns false if it was not enabled. */
	disable(): boolean;
	/** Empties the histogram and starts a new utilization window. A stall in progress is kept. */
	reset(): void;
	readonly count: number;
	readonly countBigInt: bigint;
	readonly min: number;
	readonly minBigInt: bigint;
	readonly max: number;
	readonly maxBigInt: bigint;
	readonly mean: number;
	readonly stddev: number;
	/** Samples beyond the histogram's range: always 0. */
	readonly exceeds: number;
	readonly exceedsBigInt: bigint;
	/** The busy time (ns) at percentile `p` (0 < p <= 100). */
	percentile(p: number): number;
	percentileBigInt(p: number): bigint;
	readonly percentiles: Map<number, number>;
	readonly percentilesBigInt: Map<number, bigint>;
	toJSON(): {count: number; min: number; max: number; mean: number; exceeds: number; stddev: number; percentiles: Record<string, number>};
	/** Event-loop utilization (0..1) since enabled or reset, as `performance.eventLoopUtilization` defines it. */
	utilization(): number;
	/** The stall in progress, or null. */
	currentStall(): Stall | null;
	/** The last `maxStalls` finished stalls, oldest first. */
	stalls(): Stall[];
	/** Stalls seen since creation, including those `stalls()` no longer holds. */
	readonly stallCount: number;
	/**
	For load shedding: true while a stall is in progress, or when the recent window's largest iteration or its utilization reached a limit. Unlike a mean, one 200 ms stall counts.
	@example
	```
	server.on('request', (req, res) => {
		if (monitor.pressure({maxDelay: 100})) return void res.writeHead(503, {'retry-after': '1'}).end();
		handle(req, res);
	});
	```
	*/
	pressure(limits?: PressureLimits): boolean;
	/** A one-line summary for logs: p50/p99/max, utilization, stalls by kind. */
	report(): string;
	/** Stops sampling for good and frees the native state (also done when the monitor is collected). */
	close(): void;
	on(event: 'stall', listener: (stall: Stall) => void): this;
	once(event: 'stall', listener: (stall: Stall) => void): this;
	off(event: 'stall', listener: (stall: Stall) => void): this;
}

/**
Watches this thread's event loop (main thread or worker): per-iteration busy time, stalls seen while they happen, what caused them, utilization and pressure. The monitor starts enabled and never keeps the process alive.
@example
```
import {monitorEventLoop} from 'async-shape';

const monitor = monitorEventLoop({stallThreshold: 50});
monitor.on('stall', stall => console.warn(`loop blocked ${stall.duration} ms (${stall.kind})`));
setInterval(() => console.log(monitor.report()), 60_000).unref();
```
*/
export function monitorEventLoop(options?: MonitorEventLoopOptions): LoopMonitor;

/**
The stall in progress on the loop of monitor `id`, callable from any thread (a worker can watch the main thread while it is blocked); null when there is none, or the monitor is closed or disabled.
@example
```
// in a worker, with workerData.monitorId = monitor.id from the main thread
setInterval(() => {
	const stall = currentStall(workerData.monitorId);
	if (stall !== null && stall.duration > 1000) reportHang(stall);
}, 100);
```
*/
export function currentStall(id: number): Stall | null;
