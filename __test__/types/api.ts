// Type tests (CommonJS view: index.d.ts). Checked by `tsc --noEmit -p __test__/tsconfig.json`.
import pLimit, {limitFunction, Pool, QueueFullError, DeadlockError} from 'async-shape';
import type {LimitFunction, Options, PoolStats, TaskContext} from 'async-shape';
import {expectType, expectNotAny} from './equal.js';

// --- pLimit: every program p-limit's own types accept ---
const limit = pLimit(1);
const limitWithOptions = pLimit({concurrency: 2, rejectOnClear: true});
expectType<LimitFunction>(limit);
expectType<LimitFunction>(limitWithOptions);

expectType<Promise<string>>(limit(async () => 'foo'));
expectType<Promise<string>>(limit(() => 'sync'));
expectType<Promise<string>>(limit((_a: string) => '', 'arg'));
expectType<Promise<number>>(limit(async (_a: string, _b: number) => 1, 'a', 2));
expectType<Promise<Array<string | undefined>>>(Promise.all([limit(async () => 'a'), limit(async () => undefined)]));
expectType<number>(limit.activeCount);
expectType<number>(limit.pendingCount);
expectType<number>(limit.concurrency);
limit.concurrency = 4;
expectType<void>(limit.clearQueue());
expectType<Promise<number[]>>(limit.map([1, 2, 3], async (x, index) => x * index));
expectType<Promise<string[]>>(limit.map(new Set(['a']), x => x + x));
expectType<Promise<number[]>>(limit.map([1, 2].values(), async x => x * 2));
const {map: detachedMap} = limit;
expectType<Promise<number[]>>(detachedMap([1], x => x));

const limited = limitFunction(async (url: string) => url.length, {concurrency: 1});
expectType<Promise<number>>(limited('x'));
expectType<void>(limited.clearQueue());

const options: Options = {concurrency: 3};
pLimit(options);

// @ts-expect-error: activeCount is read-only
limit.activeCount = 1;
// @ts-expect-error: wrong argument type for fn
limit((_a: string) => '', 1);
// @ts-expect-error: missing argument for fn
limit((_a: string) => '');
// @ts-expect-error: rejectOnClear must be a boolean
pLimit({concurrency: 1, rejectOnClear: 'yes'});
// @ts-expect-error: concurrency is required in the options object
pLimit({});
// @ts-expect-error: limitFunction wants a promise-returning function (as p-limit's types do)
limitFunction((_a: string) => 'x', {concurrency: 1});
// @ts-expect-error: limitFunction's result has no activeCount
limited.activeCount;

// --- Pool ---
const pool = new Pool({concurrency: 4, maxQueue: 100, timeout: 1000, detectDeadlock: true});
new Pool();
expectType<Promise<string>>(pool.run(async ({signal}) => (signal?.aborted ? 'aborted' : 'ok')));
expectType<Promise<number>>(pool.run(() => 1, {priority: 2, timeout: 50, signal: AbortSignal.timeout(10)}));
pool.run((context: TaskContext) => context.signal?.reason);
expectType<Promise<string[]>>(
	pool.map([1, 2, 3], async (value, index, {signal}) => `${value}:${index}:${signal.aborted}`, {stopOnError: false}),
);
async function* numbers() {
	yield 1;
}
expectType<Promise<number[]>>(pool.map(numbers(), n => n + 1, {signal: new AbortController().signal}));
expectType<Promise<void>>(pool.onIdle());
expectType<Promise<void>>(pool.onEmpty());
expectType<Promise<void>>(pool.onSizeLessThan(10));
expectType<number>(pool.activeCount);
expectType<number>(pool.pendingCount);
pool.concurrency = 8;
pool.clear();
pool.clear(new Error('shutting down'));
const stats: PoolStats = pool.stats({reset: true});
expectType<number>(stats.latency.p99);
expectType<number>(stats.littleConcurrency);

const err: unknown = undefined;
if (err instanceof QueueFullError) expectType<'ASYNC_SHAPE_QUEUE_FULL'>(err.code);
if (err instanceof DeadlockError) expectType<'DeadlockError'>(err.name);

// @ts-expect-error: the task must be a function
pool.run('not a function');
// @ts-expect-error: priority is a number
pool.run(() => 1, {priority: 'high'});
// @ts-expect-error: signal must be an AbortSignal
pool.run(() => 1, {signal: new AbortController()});
// @ts-expect-error: unknown option
new Pool({concurency: 2});
// @ts-expect-error: activeCount is read-only
pool.activeCount = 3;
// @ts-expect-error: map's mapper gets (item, index, context), not more
pool.map([1], (_a: number, _b: number, _c: {signal: AbortSignal}, _d: string) => 1);

// --- no `any` leaks from the public types ---
expectNotAny(limit(async () => 1));
expectNotAny(limit.map([1], x => x));
expectNotAny(pool.run(() => 1));
expectNotAny(pool.map([1], x => x));
expectNotAny(pool.stats());
// @ts-expect-error: the guard itself works
expectNotAny(JSON.parse('1'));
