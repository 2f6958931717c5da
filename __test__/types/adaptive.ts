// Type tests for adaptive concurrency and drop() (exact, with expect-type).
import pLimit, {limitFunction, Pool, DroppedError} from 'async-shape';
import type {AdaptiveConcurrency, AdaptiveOptions, AdaptiveStats, Options, PoolOptions, TaskContext} from 'async-shape';
import {expectTypeOf} from 'expect-type';

expectTypeOf<AdaptiveConcurrency>().toEqualTypeOf<{
	readonly adaptive: 'vegas' | 'gradient' | 'aimd' | true;
	readonly min?: number;
	readonly max?: number;
	readonly initial?: number;
}>();
expectTypeOf<AdaptiveStats>().toEqualTypeOf<{
	readonly algorithm: 'vegas' | 'gradient' | 'aimd';
	readonly limit: number;
	readonly minRtt: number;
	readonly rtt: number;
	readonly queue?: number;
	readonly gradient?: number;
	readonly latencyRatio?: number;
	readonly history: ReadonlyArray<{readonly time: number; readonly limit: number}>;
}>();

// 'adaptive', an AdaptiveConcurrency, and the limit-change event.
const pool = new Pool({concurrency: 'adaptive', onLimitChange: limit => expectTypeOf(limit).toEqualTypeOf<number>()});
new Pool({concurrency: {adaptive: 'gradient', min: 2, max: 64, initial: 8}});
new Pool({concurrency: {adaptive: true}});
const bounds: AdaptiveConcurrency = {adaptive: 'aimd', max: 10};
new Pool({concurrency: bounds});
pLimit('adaptive');
pLimit({concurrency: {adaptive: 'vegas'}, onLimitChange: limit => expectTypeOf(limit).toEqualTypeOf<number>()});
pLimit({adaptive: 'gradient', max: 32});
const adaptiveOptions: AdaptiveOptions = {concurrency: 'adaptive', onLimitChange: () => {}, rejectOnClear: true};
pLimit(adaptiveOptions);
limitFunction(async () => 1, adaptiveOptions);
limitFunction(async () => 1, {concurrency: {adaptive: 'aimd'}, onLimitChange: limit => expectTypeOf(limit).toEqualTypeOf<number>()});
// @ts-expect-error: p-limit's Options has no adaptive concurrency (use AdaptiveOptions)
const fixedOnly: Options = {concurrency: 'adaptive'};
void fixedOnly;
expectTypeOf<PoolOptions['onLimitChange']>().toEqualTypeOf<((limit: number) => void) | undefined>();

// drop() and DroppedError.
expectTypeOf(
	pool.run(async ({signal, drop}: TaskContext) => {
		expectTypeOf(drop).toEqualTypeOf<() => void>();
		if (signal?.aborted) drop();
		throw new DroppedError('429', {cause: 'rate limited'});
	}),
).toEqualTypeOf<Promise<never>>();
// A task given neither a signal nor a timeout gets `signal: undefined`, as with p-queue (#14).
void pool.run(({signal}) => expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>());

// An adaptive pool's stats.
const stats = pool.stats();
expectTypeOf(stats.dropped).toEqualTypeOf<number>();
expectTypeOf(stats.adaptive).toEqualTypeOf<AdaptiveStats | undefined>();
if (stats.adaptive) {
	expectTypeOf(stats.adaptive.algorithm).toEqualTypeOf<'vegas' | 'gradient' | 'aimd'>();
	expectTypeOf(stats.adaptive.queue).toEqualTypeOf<number | undefined>();
	expectTypeOf(stats.adaptive.history[0]).toEqualTypeOf<{readonly time: number; readonly limit: number} | undefined>();
}

// @ts-expect-error: unknown controller
new Pool({concurrency: {adaptive: 'bbr'}});
// @ts-expect-error: the controller is named
new Pool({concurrency: {min: 1}});
// @ts-expect-error: 'auto' is not a concurrency
pLimit('auto');
// @ts-expect-error: drop takes no argument
pool.run(({drop}) => drop(1));
// @ts-expect-error: the history is read-only
pool.stats().adaptive?.history.push({time: 0, limit: 1});
