// Type tests (CommonJS view: index.d.ts) for pLimit, limitFunction, Pool and the pool's errors.
// Exact: `toEqualTypeOf` fails on any difference (a wider type, `any`, a lost `readonly`), and a
// `// @ts-expect-error` line is a program that must not compile. Checked by `npm run test:types`.
import pLimit, {limitFunction, Pool, QueueFullError, DeadlockError, DroppedError, pMapSkip} from 'async-shape';
import type {
	AdaptiveConcurrency,
	AdaptiveOptions,
	AdaptiveStats,
	LimitFunction,
	MapContext,
	MapOptions,
	Options,
	PoolOptions,
	PoolStats,
	SharedOptions,
	PoolStreamOptions,
	RunOptions,
	StreamIterator,
	TaskContext,
} from 'async-shape';
import {expectTypeOf} from 'expect-type';
import type {FleetStats, SharedLimitFunction, SharedLimitOptions} from 'async-shape';
// The fleet's types (#16) are tested in fleet.ts, part of this program through this import.
import './fleet.js';

// --- pLimit: p-limit 7.3's contract (esm.mts checks Options, LimitFunction and limitFunction
// against p-limit's own) and an overload for an adaptive limit ---
expectTypeOf(pLimit).toEqualTypeOf<{
	(concurrency: number | Options): LimitFunction;
	(options: SharedLimitOptions): SharedLimitFunction;
	(concurrency: number | 'adaptive' | AdaptiveConcurrency | AdaptiveOptions): LimitFunction;
}>();
// Options is p-limit's, exactly: a fixed concurrency (issue #14: it was widened with the adaptive
// forms, so p-limit code reading `options.concurrency` as a number no longer compiled).
expectTypeOf<Options>().toEqualTypeOf<{readonly concurrency: number; readonly rejectOnClear?: boolean}>();
const double = (options: Options) => options.concurrency * 2;
expectTypeOf(double).returns.toEqualTypeOf<number>();
expectTypeOf(pLimit({concurrency: double({concurrency: 2})})).toEqualTypeOf<LimitFunction>();
// AdaptiveOptions: Options where the limit may also be adaptive (what Options was before #14).
expectTypeOf<AdaptiveOptions>().toEqualTypeOf<{
	readonly concurrency: number | 'adaptive' | AdaptiveConcurrency;
	readonly onLimitChange?: (limit: number) => void;
	readonly rejectOnClear?: boolean;
}>();
expectTypeOf<Options>().toExtend<AdaptiveOptions>();
// Code written against the old, wider Options still compiles once it names AdaptiveOptions, and
// a limit chosen at run time (fixed or adaptive, with a change listener) is one call.
declare const adaptiveOrFixed: number | 'adaptive';
expectTypeOf(pLimit(adaptiveOrFixed)).toEqualTypeOf<LimitFunction>();
expectTypeOf(pLimit({concurrency: adaptiveOrFixed, onLimitChange: limit => expectTypeOf(limit).toEqualTypeOf<number>()})).toEqualTypeOf<LimitFunction>();
expectTypeOf(pLimit({concurrency: 2, onLimitChange: () => {}, rejectOnClear: true})).toEqualTypeOf<LimitFunction>();
const oldOptions: AdaptiveOptions = {concurrency: {adaptive: 'aimd', max: 8}, rejectOnClear: true};
expectTypeOf(pLimit(oldOptions)).toEqualTypeOf<LimitFunction>();
// @ts-expect-error: an adaptive concurrency is not p-limit's Options
const notOptions: Options = {concurrency: 'adaptive'};
// @ts-expect-error: nor is onLimitChange
const notOptions2: Options = {concurrency: 2, onLimitChange: () => {}};
void [notOptions, notOptions2];

const limit = pLimit(1);
expectTypeOf(limit).toEqualTypeOf<LimitFunction>();
expectTypeOf(pLimit({concurrency: 2, rejectOnClear: true})).toEqualTypeOf<LimitFunction>();
expectTypeOf(pLimit(Number.POSITIVE_INFINITY)).toEqualTypeOf<LimitFunction>();

// limit(fn, ...args) is Promise<Awaited<ReturnType<fn>>>.
expectTypeOf(limit(async () => 'foo')).toEqualTypeOf<Promise<string>>();
expectTypeOf(limit(() => 'sync')).toEqualTypeOf<Promise<string>>();
expectTypeOf(limit(async () => {})).toEqualTypeOf<Promise<void>>();
expectTypeOf(limit(() => undefined)).toEqualTypeOf<Promise<undefined>>();
expectTypeOf(limit(async () => Promise.resolve(1))).toEqualTypeOf<Promise<number>>();
expectTypeOf(limit(() => Promise.resolve(1) as PromiseLike<number>)).toEqualTypeOf<Promise<number>>();
expectTypeOf(limit((a: string) => a.length, 'arg')).toEqualTypeOf<Promise<number>>();
expectTypeOf(limit(async (_a: string, _b: number) => true, 'a', 2)).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(limit((...rest: number[]) => rest, 1, 2, 3)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(limit(async (): Promise<string | undefined> => undefined)).toEqualTypeOf<Promise<string | undefined>>();
expectTypeOf(Promise.all([limit(async () => 'a'), limit(async () => 1)])).toEqualTypeOf<Promise<[string, number]>>();
// (toBeCallableWith cannot check a generic signature: the calls themselves are the test.)
expectTypeOf(limit((_a: string, _b?: number) => 1, 'a')).toEqualTypeOf<Promise<number>>();
expectTypeOf(limit((_a: string, _b?: number) => 1, 'a', 2)).toEqualTypeOf<Promise<number>>();

// The counters, the limit, clearQueue and map.
expectTypeOf<Pick<LimitFunction, 'activeCount' | 'pendingCount' | 'concurrency' | 'clearQueue'>>().toEqualTypeOf<{
	readonly activeCount: number;
	readonly pendingCount: number;
	concurrency: number;
	clearQueue: () => void;
}>();
limit.concurrency = 4;
expectTypeOf(limit.clearQueue()).toEqualTypeOf<void>();
expectTypeOf(limit.map([1, 2, 3], async (x, index) => x * index)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(limit.map(new Set(['a']), x => x + x)).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(limit.map([1, 2].values(), async x => x * 2)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(limit.map('ab', x => x)).toEqualTypeOf<Promise<string[]>>();
void limit.map([1n], (item, index) => {
	expectTypeOf(item).toEqualTypeOf<bigint>();
	expectTypeOf(index).toEqualTypeOf<number>();
});
const {map: detachedMap} = limit;
expectTypeOf(detachedMap([1], x => x)).toEqualTypeOf<Promise<number[]>>();
// limit.map does not await a promise element (p-limit passes it through): the mapper gets it.
void limit.map([Promise.resolve(1)], item => expectTypeOf(item).toEqualTypeOf<Promise<number>>());
// pMapSkip (issue #14) is a symbol; limit.map keeps p-limit's contract (Promise.all over limit
// calls), so it is a result like any other there.
expectTypeOf(pMapSkip).toEqualTypeOf<typeof pMapSkip>();
expectTypeOf(pMapSkip).toExtend<symbol>();
expectTypeOf(limit.map([1, 2], x => (x > 1 ? x : pMapSkip))).toEqualTypeOf<Promise<Array<number | typeof pMapSkip>>>();
expectTypeOf(limit.map([1], () => Symbol('other'))).toEqualTypeOf<Promise<symbol[]>>();

// @ts-expect-error: activeCount is read-only
limit.activeCount = 1;
// @ts-expect-error: pendingCount is read-only
limit.pendingCount = 1;
// @ts-expect-error: wrong argument type for fn
limit((_a: string) => '', 1);
// @ts-expect-error: missing argument for fn
limit((_a: string) => '');
// @ts-expect-error: an argument too many for fn
limit((_a: string) => '', 'a', 'b');
// @ts-expect-error: fn must be a function
limit(Promise.resolve(1));
// @ts-expect-error: the mapper gets (item, index), not more
limit.map([1], (_item: number, _index: number, _extra: string) => 1);
// @ts-expect-error: the mapper's item type comes from the iterable
limit.map([1], (item: string) => item);
// @ts-expect-error: rejectOnClear must be a boolean
pLimit({concurrency: 1, rejectOnClear: 'yes'});
// @ts-expect-error: concurrency is required in the options object
pLimit({});
// @ts-expect-error: concurrency is a number, 'adaptive' or an AdaptiveConcurrency
pLimit('2');
// @ts-expect-error: onLimitChange is a function
pLimit({concurrency: 'adaptive', onLimitChange: 1});
// @ts-expect-error: unknown option
pLimit({concurrency: 1, maxQueue: 2});

// --- limitFunction ---
const limited = limitFunction(async (url: string) => url.length, {concurrency: 1});
expectTypeOf(limited).toEqualTypeOf<((url: string) => Promise<number>) & Pick<LimitFunction, 'clearQueue'>>();
expectTypeOf(limited).branded.toEqualTypeOf<((url: string) => Promise<number>) & {clearQueue: () => void}>();
expectTypeOf(limited('x')).toEqualTypeOf<Promise<number>>();
expectTypeOf(limited.clearQueue()).toEqualTypeOf<void>();
expectTypeOf(limitFunction(async () => true, {concurrency: 1, rejectOnClear: true})).parameters.toEqualTypeOf<[]>();
expectTypeOf(limitFunction(async (_a: number, _b?: string) => 1, {concurrency: 'adaptive'})).parameters.toEqualTypeOf<
	[_a: number, _b?: string]
>();
// p-limit's overload (Options), then the adaptive one (AdaptiveOptions).
expectTypeOf(limitFunction).parameter(1).toEqualTypeOf<Options | AdaptiveOptions>();
expectTypeOf(limitFunction(async () => 1, {concurrency: adaptiveOrFixed, onLimitChange: () => {}})).toEqualTypeOf<
	(() => Promise<number>) & Pick<LimitFunction, 'clearQueue'>
>();

// @ts-expect-error: limitFunction wants a promise-returning function (as p-limit's types do)
limitFunction((_a: string) => 'x', {concurrency: 1});
// @ts-expect-error: the options are required
limitFunction(async () => 1);
// @ts-expect-error: limitFunction's result has no activeCount
void limited.activeCount;
// @ts-expect-error: the limited function keeps the argument types
void limited(1);

// --- Pool ---
expectTypeOf(Pool).constructorParameters.toEqualTypeOf<[options?: PoolOptions]>();
expectTypeOf(new Pool()).toEqualTypeOf<Pool>();
expectTypeOf<PoolOptions>().toEqualTypeOf<{
	readonly concurrency?: number | 'adaptive' | AdaptiveConcurrency;
	readonly onLimitChange?: (limit: number) => void;
	readonly maxQueue?: number;
	readonly timeout?: number;
	readonly detectDeadlock?: boolean;
	readonly shared?: SharedOptions;
}>();
const pool = new Pool({concurrency: 4, maxQueue: 100, timeout: 1000, detectDeadlock: true, onLimitChange: limit => void limit});

// The counters and the limit.
expectTypeOf<Pick<Pool, 'activeCount' | 'pendingCount' | 'concurrency'>>().toEqualTypeOf<{
	readonly activeCount: number;
	readonly pendingCount: number;
	concurrency: number;
}>();
pool.concurrency = 8;

// run: the task's result, awaited; the task gets a TaskContext.
// The task's signal is the run's (or its timeout's), else undefined, as p-queue passes it (#14:
// one truth, said in the JSDoc; MapContext's is always a signal, one per map).
expectTypeOf<TaskContext>().toEqualTypeOf<{readonly signal: AbortSignal | undefined; readonly drop: () => void}>();
declare function fetchLike(url: string, init: {readonly signal?: AbortSignal | undefined}): Promise<string>;
expectTypeOf(pool.run(({signal}) => fetchLike('/a', {signal}))).toEqualTypeOf<Promise<string>>();
void pool.run(({signal}) => {
	expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>();
	signal?.throwIfAborted();
});
expectTypeOf<RunOptions>().toEqualTypeOf<{readonly signal?: AbortSignal; readonly priority?: number; readonly timeout?: number}>();
expectTypeOf(pool.run(async ({signal}) => (signal?.aborted ? 'aborted' : 'ok'))).toEqualTypeOf<Promise<'aborted' | 'ok'>>();
expectTypeOf(pool.run(() => 1, {priority: 2, timeout: 50, signal: AbortSignal.timeout(10)})).toEqualTypeOf<Promise<number>>();
expectTypeOf(pool.run(async () => {})).toEqualTypeOf<Promise<void>>();
expectTypeOf(pool.run(async () => Promise.resolve([1]))).toEqualTypeOf<Promise<number[]>>();
void pool.run(context => expectTypeOf(context).toEqualTypeOf<TaskContext>());
expectTypeOf(pool.run).parameter(1).toEqualTypeOf<RunOptions | undefined>();

// map: lazy over (async) iterables; the mapper gets (item, index, MapContext).
expectTypeOf<MapContext>().toEqualTypeOf<{readonly signal: AbortSignal}>();
// `signal: undefined` is accepted, as p-map's options declare it (so p-map options pass through
// under exactOptionalPropertyTypes).
expectTypeOf<MapOptions>().toEqualTypeOf<{readonly signal?: AbortSignal | undefined; readonly stopOnError?: boolean}>();
declare const maybeSignal: AbortSignal | undefined;
expectTypeOf(pool.map([1], n => n, {signal: maybeSignal, stopOnError: false})).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(pool.map([1, 2, 3], async (value, index, {signal}) => `${value}:${index}:${signal.aborted}`, {stopOnError: false})).toEqualTypeOf<
	Promise<string[]>
>();
async function* numbers() {
	yield 1;
}
expectTypeOf(pool.map(numbers(), n => n + 1, {signal: new AbortController().signal})).toEqualTypeOf<Promise<number[]>>();
void pool.map(['a'], (item, index, context) => {
	expectTypeOf(item).toEqualTypeOf<string>();
	expectTypeOf(index).toEqualTypeOf<number>();
	expectTypeOf(context).toEqualTypeOf<MapContext>();
});
expectTypeOf(pool.map).parameter(2).toEqualTypeOf<MapOptions | undefined>();
// Elements are awaited before the mapper is called (issue #14), as p-map does: a promise element
// reaches the mapper as its value, in sync and async iterables.
expectTypeOf(pool.map([Promise.resolve(1), 2], x => x * 2)).toEqualTypeOf<Promise<number[]>>();
void pool.map([Promise.resolve('a'), 1n], item => expectTypeOf(item).toEqualTypeOf<string | bigint>());
async function* promises() {
	yield Promise.resolve(true);
}
void pool.map(promises(), item => expectTypeOf(item).toEqualTypeOf<boolean>());
declare const thenables: Iterable<PromiseLike<Date>>;
void pool.map(thenables, item => expectTypeOf(item).toEqualTypeOf<Date>());
// pMapSkip: a mapper may return it (sync or async), and the results leave it out.
expectTypeOf(pool.map([1, 2], x => (x > 1 ? x : pMapSkip))).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(pool.map(numbers(), async (x, _index, {signal}) => (signal.aborted ? pMapSkip : `${x}`))).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(pool.map([1], () => Promise.resolve(pMapSkip))).toEqualTypeOf<Promise<never[]>>();
expectTypeOf(pool.map([1], x => (x > 0 ? Promise.resolve(x) : Promise.resolve(pMapSkip)))).toEqualTypeOf<Promise<number[]>>();
// (An async mapper whose only result is pMapSkip has it widened to `symbol` by TypeScript, as
// with p-map's types; mixed with another result, as above, it is kept and left out.)
expectTypeOf(pool.map([1], async () => pMapSkip)).toEqualTypeOf<Promise<symbol[]>>();
// The README's example: an async mapper that skips what it does not find.
type User = {readonly id: string};
declare function findUser(id: string): Promise<User | undefined>;
expectTypeOf(pool.map(['1', '2'], async id => (await findUser(id)) ?? pMapSkip)).toEqualTypeOf<Promise<User[]>>();
// A generic caller's mapper fits: Awaited<T> is accepted where T is.
function mapAll<T>(items: readonly T[], mapper: (item: T) => number) {
	return pool.map(items, mapper);
}
expectTypeOf(mapAll(['a'], item => item.length)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(pool.map([1], async () => (Math.random() > 0.5 ? pMapSkip : undefined))).toEqualTypeOf<Promise<undefined[]>>();

// stream: a bounded async iterable on this pool (the combinators' `stream` is in combinators.ts;
// StreamIterator's methods are tested there).
expectTypeOf(pool.stream([1], n => String(n))).toEqualTypeOf<StreamIterator<string>>();
expectTypeOf(pool.stream(numbers(), async (n, index, context) => [n, index, context] as const, {ordered: false})).toEqualTypeOf<
	StreamIterator<readonly [number, number, MapContext]>
>();
expectTypeOf(pool.stream).parameter(2).toEqualTypeOf<PoolStreamOptions | undefined>();
// The mappers run within the pool's concurrency and this stream's; `backpressure` bounds the
// read-ahead (issue #14).
expectTypeOf<PoolStreamOptions>().toEqualTypeOf<{
	readonly concurrency?: number;
	readonly backpressure?: number;
	readonly ordered?: boolean;
	readonly signal?: AbortSignal | undefined;
}>();
expectTypeOf(pool.stream([Promise.resolve(1)], n => (n > 0 ? n : pMapSkip), {backpressure: 64, signal: maybeSignal})).toEqualTypeOf<
	StreamIterator<number>
>();
expectTypeOf(pool.stream([1], n => n, {concurrency: 2, backpressure: 8})).toEqualTypeOf<StreamIterator<number>>();
// @ts-expect-error: backpressure is a number
pool.stream([1], n => n, {backpressure: '8'});

// The waits, clear and stats.
expectTypeOf(pool.onIdle).toEqualTypeOf<() => Promise<void>>();
expectTypeOf(pool.onEmpty).toEqualTypeOf<() => Promise<void>>();
expectTypeOf(pool.onSizeLessThan).toEqualTypeOf<(limit: number) => Promise<void>>();
expectTypeOf(pool.clear).toEqualTypeOf<(reason?: unknown) => void>();
expectTypeOf(pool.stats).toEqualTypeOf<(options?: {readonly reset?: boolean}) => PoolStats>();
expectTypeOf<PoolStats>().toEqualTypeOf<{
	readonly completed: number;
	readonly failed: number;
	readonly dropped: number;
	readonly active: number;
	readonly pending: number;
	readonly concurrency: number;
	readonly elapsedMs: number;
	readonly throughput: number;
	readonly latency: {readonly mean: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number};
	readonly wait: {readonly mean: number; readonly p99: number};
	readonly meanInFlight: number;
	readonly littleConcurrency: number;
	readonly adaptive?: AdaptiveStats;
	readonly fleet?: FleetStats;
}>();
expectTypeOf(pool.stats({reset: true}).latency.p99).toEqualTypeOf<number>();

// @ts-expect-error: the task must be a function
pool.run('not a function');
// @ts-expect-error: priority is a number
pool.run(() => 1, {priority: 'high'});
// @ts-expect-error: signal must be an AbortSignal
pool.run(() => 1, {signal: new AbortController()});
// @ts-expect-error: an explicit undefined is not an option value (exactOptionalPropertyTypes)
pool.run(() => 1, {timeout: undefined});
// @ts-expect-error: unknown option
new Pool({concurency: 2});
// @ts-expect-error: maxQueue is a number
new Pool({maxQueue: '10'});
// @ts-expect-error: activeCount is read-only
pool.activeCount = 3;
// @ts-expect-error: pendingCount is read-only
pool.pendingCount = 3;
// @ts-expect-error: map's mapper gets (item, index, context), not more
pool.map([1], (_a: number, _b: number, _c: MapContext, _d: string) => 1);
// @ts-expect-error: stopOnError is a boolean
pool.map([1], x => x, {stopOnError: 1});
// @ts-expect-error: onSizeLessThan needs a limit
pool.onSizeLessThan();
// @ts-expect-error: reset is a boolean
pool.stats({reset: 1});
// @ts-expect-error: stats are read-only
pool.stats().completed = 1;

// --- The pool's errors ---
expectTypeOf<QueueFullError>().toExtend<RangeError>();
expectTypeOf<QueueFullError['name']>().toEqualTypeOf<'QueueFullError'>();
expectTypeOf<QueueFullError['code']>().toEqualTypeOf<'ASYNC_SHAPE_QUEUE_FULL'>();
expectTypeOf<DeadlockError>().toExtend<Error>();
expectTypeOf<DeadlockError['name']>().toEqualTypeOf<'DeadlockError'>();
expectTypeOf<DeadlockError['code']>().toEqualTypeOf<'ASYNC_SHAPE_DEADLOCK'>();
expectTypeOf<DroppedError>().toExtend<Error>();
expectTypeOf<DroppedError['name']>().toEqualTypeOf<'DroppedError'>();
expectTypeOf<DroppedError['code']>().toEqualTypeOf<'ASYNC_SHAPE_DROPPED'>();
expectTypeOf(DroppedError).constructorParameters.toEqualTypeOf<[message?: string, options?: ErrorOptions]>();
// Today's declarations inherit the Error constructors; the JS classes take (maxQueue) and
// (concurrency). Users only test them with instanceof.
expectTypeOf(QueueFullError).toBeConstructibleWith();
expectTypeOf(QueueFullError).toBeConstructibleWith('message', {cause: 1});
expectTypeOf(DeadlockError).toBeConstructibleWith();
expectTypeOf(DeadlockError).toBeConstructibleWith('message', {cause: 1});
expectTypeOf(new QueueFullError()).toEqualTypeOf<QueueFullError>();

const err: unknown = undefined;
if (err instanceof QueueFullError) expectTypeOf(err).toEqualTypeOf<QueueFullError>();
if (err instanceof DeadlockError) expectTypeOf(err.code).toEqualTypeOf<'ASYNC_SHAPE_DEADLOCK'>();
if (err instanceof DroppedError) expectTypeOf(err.message).toEqualTypeOf<string>();

// @ts-expect-error: the codes are read-only
new DroppedError().code = 'x';
// @ts-expect-error: a DroppedError's message is a string
new DroppedError(429);
