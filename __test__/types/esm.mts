// Type tests (ESM view: index.d.mts), exact with expect-type: the default import is pLimit, the
// ESM module has the CommonJS one's exports and types, and LimitFunction is p-limit 7.3's.
import pLimit, {pLimit as named, limitFunction, Pool, monitorEventLoop, pMapSkip, stream} from 'async-shape';
import * as esm from 'async-shape';
import type * as cjs from 'async-shape' with {'resolution-mode': 'require'};
import type {LimitFunction, Options, AdaptiveOptions, PoolStats, LoopMonitor, TaskResult, StallKind} from 'async-shape';
import type * as pLimitPackage from 'p-limit';
import type * as pMapPackage from 'p-map';
import {expectTypeOf} from 'expect-type';

// The default export is pLimit, and the ESM namespace is the CommonJS module's.
expectTypeOf(pLimit).toEqualTypeOf(named);
expectTypeOf(esm.default).toEqualTypeOf<typeof cjs.pLimit>();
expectTypeOf<Omit<typeof esm, 'default' | 'pMapSkip'>>().toEqualTypeOf<Omit<typeof cjs, 'default' | 'pMapSkip'>>();
// (pMapSkip is the same unique symbol in both; TypeScript only shows a `const` export as a
// writable property of a CommonJS module's namespace, and as a read-only one of an ES module's.)
expectTypeOf(esm.pMapSkip).toEqualTypeOf<typeof cjs.pMapSkip>();
expectTypeOf(pMapSkip).toEqualTypeOf<typeof cjs.pMapSkip>();
// The type exports are the same declarations.
expectTypeOf<LimitFunction>().toEqualTypeOf<cjs.LimitFunction>();
expectTypeOf<Options>().toEqualTypeOf<cjs.Options>();
expectTypeOf<AdaptiveOptions>().toEqualTypeOf<cjs.AdaptiveOptions>();
expectTypeOf<TaskResult<() => Promise<1>>>().toEqualTypeOf<cjs.TaskResult<() => Promise<1>>>();
expectTypeOf<StallKind>().toEqualTypeOf<cjs.StallKind>();

// A drop-in for p-limit 7.3: the same Options (issue #14), the same LimitFunction, and every
// pLimit and limitFunction call of p-limit's types gives the same types here.
expectTypeOf<Options>().toEqualTypeOf<pLimitPackage.Options>();
const doubled = (options: pLimitPackage.Options) => options.concurrency * 2;
expectTypeOf(doubled).toEqualTypeOf<(options: Options) => number>();
expectTypeOf<LimitFunction>().toEqualTypeOf<pLimitPackage.LimitFunction>();
const asPLimits: pLimitPackage.LimitFunction = pLimit(1);
void asPLimits;
declare const theirs: pLimitPackage.LimitFunction;
const ours = pLimit(1);
expectTypeOf(ours.map([1, 2], async x => String(x))).toEqualTypeOf(theirs.map([1, 2], async x => String(x)));
expectTypeOf(ours.map(new Set(['a']), (x, index) => [x, index] as const)).toEqualTypeOf(theirs.map(new Set(['a']), (x, index) => [x, index] as const));
expectTypeOf(ours(async (a: string, b?: number) => a.length + (b ?? 0), 'x')).toEqualTypeOf(theirs(async (a: string, b?: number) => a.length + (b ?? 0), 'x'));
expectTypeOf<Parameters<typeof pLimitPackage.default>[0]>().toExtend<Parameters<typeof pLimit>[0]>();
declare const pLimitOptions: pLimitPackage.Options;
expectTypeOf(pLimit(pLimitOptions)).toEqualTypeOf<LimitFunction>();
expectTypeOf(pLimit(pLimitOptions)).toExtend<ReturnType<typeof pLimitPackage.default>>();
// pLimit's and limitFunction's first overloads are p-limit's declarations.
expectTypeOf<typeof pLimitPackage.default>().toEqualTypeOf<(concurrency: number | Options) => pLimitPackage.LimitFunction>();
expectTypeOf(pLimit).toExtend<(concurrency: number | pLimitPackage.Options) => pLimitPackage.LimitFunction>();
expectTypeOf(limitFunction).toExtend<typeof pLimitPackage.limitFunction>();
declare const pLimitFunction: typeof pLimitPackage.limitFunction;
const fetchLength = async (url: string, retries?: number) => url.length + (retries ?? 0);
expectTypeOf(limitFunction(fetchLength, {concurrency: 1})).toEqualTypeOf(pLimitFunction(fetchLength, {concurrency: 1}));
expectTypeOf(limitFunction(fetchLength, pLimitOptions)).toEqualTypeOf(pLimitFunction(fetchLength, pLimitOptions));

// p-limit 7.3's own index.test-d.ts, on async-shape (tsd's expectType is toEqualTypeOf here,
// expectError a @ts-expect-error line).
{
	const limit = pLimit(1);
	const limitWithRejectOnClear = pLimit({concurrency: 1, rejectOnClear: true});
	const input = [limit(async () => 'foo'), limit(async () => 'bar'), limit(async () => undefined)];
	expectTypeOf(Promise.all(input)).toEqualTypeOf<Promise<Array<string | undefined>>>();
	expectTypeOf(limit((_a: string) => '', 'test')).toEqualTypeOf<Promise<string>>();
	expectTypeOf(limit(async (_a: string, _b: number) => '', 'test', 1)).toEqualTypeOf<Promise<string>>();
	expectTypeOf(limit.activeCount).toEqualTypeOf<number>();
	expectTypeOf(limit.pendingCount).toEqualTypeOf<number>();
	expectTypeOf(limit.clearQueue()).toEqualTypeOf<void>();
	expectTypeOf(limitWithRejectOnClear.clearQueue()).toEqualTypeOf<void>();
	const lf = limitFunction(async (_a: string) => 'ok', {concurrency: 1});
	expectTypeOf(lf('input')).toEqualTypeOf<Promise<string>>();
	// @ts-expect-error: limitFunction wants a promise-returning function
	limitFunction((_a: string) => 'x', {concurrency: 1});
	// @ts-expect-error: rejectOnClear is a boolean
	pLimit({concurrency: 1, rejectOnClear: 'nope'});
	expectTypeOf(limit.map(new Set(['a', 'b', 'c']), async x => x + x)).toEqualTypeOf<Promise<string[]>>();
	expectTypeOf(limit.map([1, 2, 3].values(), async x => x * 2)).toEqualTypeOf<Promise<number[]>>();
}

// p-map: async-shape's pMapSkip and p-map's are both unique symbols, and neither is the other
// (the runtime accepts p-map's in Pool#map and the streams; the types only leave out ours).
expectTypeOf(pMapSkip).not.toEqualTypeOf<typeof pMapPackage.pMapSkip>();
expectTypeOf(stream([1], x => (x > 0 ? x : pMapSkip))).toEqualTypeOf<cjs.StreamIterator<number>>();
// A p-map Mapper (whose results may be p-map's pMapSkip or pMapStop) is a mapper here too, and
// the results are typed as p-map types them: unique symbols left out, a plain symbol kept.
declare const pMapMapper: pMapPackage.Mapper<string, number>;
expectTypeOf(new Pool().map(['a'], pMapMapper)).toEqualTypeOf<Promise<number[]>>();
declare const theirsMap: typeof pMapPackage.default;
expectTypeOf(new Pool().map(['a'], pMapMapper)).toEqualTypeOf(theirsMap(['a'], pMapMapper));
expectTypeOf(new Pool().map([1], () => Symbol('kept'))).toEqualTypeOf<Promise<symbol[]>>();
// p-map's options object passes to Pool#map as it is (signal may be undefined), concurrency aside.
declare const pMapOptions: pMapPackage.Options;
const {concurrency: pMapConcurrency, ...mapOptions} = pMapOptions;
expectTypeOf(new Pool(pMapConcurrency === undefined ? {} : {concurrency: pMapConcurrency}).map([1], x => x, mapOptions)).toEqualTypeOf<
	Promise<number[]>
>();
// A pMap-shaped adapter written against p-map's own types compiles, generic as p-map is.
function pMapLike<Element, NewElement>(
	input: AsyncIterable<Element | Promise<Element>> | Iterable<Element | Promise<Element>>,
	mapper: pMapPackage.Mapper<Element, NewElement>,
	{concurrency, ...options}: pMapPackage.Options = {},
) {
	return new Pool(concurrency === undefined ? {} : {concurrency}).map(input, mapper, options);
}
expectTypeOf(pMapLike([Promise.resolve(1), 2], x => String(x))).toEqualTypeOf<Promise<string[]>>();
// pMapIterable's options are stream()'s, preserveOrder renamed ordered.
declare const iterableOptions: pMapPackage.IterableOptions;
const {preserveOrder, ...streamOptions} = iterableOptions;
expectTypeOf(stream([1], x => x, preserveOrder === undefined ? streamOptions : {...streamOptions, ordered: preserveOrder})).toEqualTypeOf<
	cjs.StreamIterator<number>
>();

const limit = pLimit(2);
expectTypeOf(limit).toEqualTypeOf<LimitFunction>();
expectTypeOf(limit(async (n: number) => n, 1)).toEqualTypeOf<Promise<number>>();
expectTypeOf(limitFunction(async () => true, {concurrency: 1})()).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(new Pool({concurrency: 1}).stats()).toEqualTypeOf<PoolStats>();
expectTypeOf(monitorEventLoop()).toEqualTypeOf<LoopMonitor>();

// @ts-expect-error: concurrency must be a number or options
pLimit('2');
// @ts-expect-error: the ESM entry has no `module.exports`-only names
void esm.__esModule;
