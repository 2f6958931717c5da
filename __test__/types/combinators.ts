// Type tests for the combinators and streams (exact, with expect-type).
import {all, allSettled, race, any, timeout, stream, pMapSkip} from 'async-shape';
import type {CancellableContext, GroupOptions, MapContext, RaceOptions, StreamIterator, StreamOptions, Task, TaskResult} from 'async-shape';
import {expectTypeOf} from 'expect-type';

// --- The type exports ---
expectTypeOf<CancellableContext>().toEqualTypeOf<{readonly signal: AbortSignal}>();
expectTypeOf<Task<number>>().toEqualTypeOf<((context: CancellableContext) => PromiseLike<number> | number) | PromiseLike<number> | number>();
expectTypeOf<GroupOptions>().toEqualTypeOf<{readonly signal?: AbortSignal; readonly concurrency?: number; readonly timeout?: number}>();
expectTypeOf<RaceOptions>().toEqualTypeOf<{readonly signal?: AbortSignal}>();
// stream's knobs are pMapIterable's (issue #14): concurrency (default Infinity) and backpressure
// (default concurrency), both optional.
expectTypeOf<StreamOptions>().toEqualTypeOf<{
	readonly concurrency?: number;
	readonly backpressure?: number;
	readonly ordered?: boolean;
	readonly signal?: AbortSignal | undefined;
}>();
// TaskResult unwraps a task function's result, a promise, or a value.
expectTypeOf<TaskResult<() => Promise<number>>>().toEqualTypeOf<number>();
expectTypeOf<TaskResult<(context: CancellableContext) => string>>().toEqualTypeOf<string>();
expectTypeOf<TaskResult<Promise<Promise<boolean>>>>().toEqualTypeOf<boolean>();
expectTypeOf<TaskResult<PromiseLike<1>>>().toEqualTypeOf<1>();
expectTypeOf<TaskResult<'value'>>().toEqualTypeOf<'value'>();
expectTypeOf<TaskResult<Task<number>>>().toEqualTypeOf<number>();
expectTypeOf<TaskResult<Task<string | undefined>>>().toEqualTypeOf<string | undefined>();

// --- all: tuples keep their element types; functions, promises and values mix ---
const tuple = all([async ({signal}: CancellableContext) => (signal.aborted ? 1 : 2), Promise.resolve('s'), true] as const);
expectTypeOf(tuple).toEqualTypeOf<Promise<[1 | 2, string, true]>>();
// (A synchronous task's literal result stays literal in a tuple; an async one's widens.)
expectTypeOf(all([() => 1, async () => 'a'])).toEqualTypeOf<Promise<[1, string]>>();
expectTypeOf(all([])).toEqualTypeOf<Promise<[]>>();
expectTypeOf(all([1, 2, 3].map(n => async () => n), {concurrency: 2, timeout: 100})).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(all(new Set([() => 'a']))).toEqualTypeOf<Promise<'a'[]>>();
const tasks: Array<Task<number>> = [() => 1, Promise.resolve(2), 3];
expectTypeOf(all(tasks)).toEqualTypeOf<Promise<number[]>>();
const readonlyTasks: ReadonlyArray<Task<number>> = tasks;
expectTypeOf(all(readonlyTasks, {signal: AbortSignal.abort()})).toEqualTypeOf<Promise<number[]>>();
// A Task<T> type gives a task its context's type.
const typed: Array<Task<number>> = [context => (expectTypeOf(context).toEqualTypeOf<CancellableContext>(), 1)];
expectTypeOf(all(typed)).toEqualTypeOf<Promise<number[]>>();
// A task written inline in the array gets its context's type (issue #14: its `{signal}` was an
// implicit `any`, an error under `strict`), in all four, mixed with promises and values, and in
// an array built by `map`. The results are as for annotated tasks.
declare function fetchText(url: string, init: {readonly signal: AbortSignal}): Promise<string>;
expectTypeOf(all([({signal}) => fetchText('/a', {signal}), async ({signal}) => signal.aborted])).toEqualTypeOf<Promise<[string, boolean]>>();
expectTypeOf(allSettled([({signal}) => fetchText('/a', {signal}), Promise.resolve(1), 'x'])).toEqualTypeOf<
	Promise<[PromiseSettledResult<string>, PromiseSettledResult<number>, PromiseSettledResult<'x'>]>
>();
expectTypeOf(race([({signal}) => fetchText('/a', {signal}), ({signal}) => signal.aborted])).toEqualTypeOf<Promise<string | boolean>>();
expectTypeOf(any([async ({signal}) => (signal.aborted ? 0 : 1), null, undefined])).toEqualTypeOf<Promise<0 | 1 | null | undefined>>();
void all([
	context => {
		expectTypeOf(context).toEqualTypeOf<CancellableContext>();
		return 1;
	},
]);
expectTypeOf(all(['/a', '/b'].map(url => ({signal}: CancellableContext) => fetchText(url, {signal})))).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(all(['/a', '/b'].map(url => ({signal}) => fetchText(url, {signal})))).toEqualTypeOf<Promise<string[]>>();
expectTypeOf(all([({signal}) => signal.aborted, () => 1, async () => 'a', Promise.resolve(2n), 3] as const)).toEqualTypeOf<
	Promise<[boolean, 1, string, bigint, 3]>
>();
// Not changed: a function whose parameter does not take a CancellableContext passes as a plain
// value (the `{}` of the list; TypeScript has no "any value but such a function"), and its result
// is typed as the function itself, as before #14.
const misfit = ({signal}: {signal: string}) => signal;
expectTypeOf(all([misfit])).toEqualTypeOf<Promise<[typeof misfit]>>();
expectTypeOf(all).parameter(1).toEqualTypeOf<GroupOptions | undefined>();

// --- allSettled ---
expectTypeOf(allSettled([async () => 1, () => 'x'] as const)).toEqualTypeOf<
	Promise<[PromiseSettledResult<number>, PromiseSettledResult<'x'>]>
>();
expectTypeOf(allSettled(tasks, {concurrency: 8, timeout: 2000})).toEqualTypeOf<Promise<Array<PromiseSettledResult<number>>>>();
expectTypeOf(allSettled).parameter(1).toEqualTypeOf<GroupOptions | undefined>();

// --- race and any: one result, the union of the tasks' ---
expectTypeOf(race([async () => 1, async () => 'two'] as const)).toEqualTypeOf<Promise<number | string>>();
expectTypeOf(race(tasks, {signal: new AbortController().signal})).toEqualTypeOf<Promise<number>>();
expectTypeOf(race).parameter(1).toEqualTypeOf<RaceOptions | undefined>();
expectTypeOf(any([({signal}: CancellableContext) => (signal.aborted ? 0 : 1)], {signal: new AbortController().signal})).toEqualTypeOf<
	Promise<0 | 1>
>();
expectTypeOf(any([Promise.resolve(1), async () => true])).toEqualTypeOf<Promise<number | boolean>>();
expectTypeOf(any(tasks)).toEqualTypeOf<Promise<number>>();
expectTypeOf(any).parameter(1).toEqualTypeOf<RaceOptions | undefined>();

// --- timeout ---
expectTypeOf(timeout(async ({signal}) => String(signal.aborted), 1000)).toEqualTypeOf<Promise<string>>();
void timeout(context => expectTypeOf(context).toEqualTypeOf<CancellableContext>(), 1000);
expectTypeOf(timeout(Promise.resolve(5), 10)).toEqualTypeOf<Promise<number>>();
expectTypeOf(timeout(() => 'sync', 10, {signal: AbortSignal.timeout(5)})).toEqualTypeOf<Promise<string>>();
expectTypeOf(timeout(tasks[0] ?? 0, 10)).toEqualTypeOf<Promise<number>>();
expectTypeOf(timeout).parameter(1).toEqualTypeOf<number>();
expectTypeOf(timeout).parameter(2).toEqualTypeOf<RaceOptions | undefined>();

// --- stream: an async iterable of the mapper's awaited results ---
const rows = stream([1, 2], async (n, index, context) => {
	expectTypeOf(n).toEqualTypeOf<number>();
	expectTypeOf(index).toEqualTypeOf<number>();
	expectTypeOf(context).toEqualTypeOf<MapContext>();
	return `${n}${index}${context.signal.aborted}`;
}, {concurrency: 2, ordered: false});
expectTypeOf(rows).toEqualTypeOf<StreamIterator<string>>();
async function* source() {
	yield 1n;
}
expectTypeOf(stream(source(), n => n > 0n, {concurrency: 4, signal: AbortSignal.abort()})).toEqualTypeOf<StreamIterator<boolean>>();
expectTypeOf(stream).parameter(2).toEqualTypeOf<StreamOptions | undefined>();
// No options: concurrency Infinity, backpressure = concurrency, as pMapIterable (issue #14: a
// finite concurrency was required).
expectTypeOf(stream([1], n => n)).toEqualTypeOf<StreamIterator<number>>();
expectTypeOf(stream([1], n => n, {})).toEqualTypeOf<StreamIterator<number>>();
expectTypeOf(stream([1], n => n, {concurrency: Infinity, backpressure: Infinity, ordered: false})).toEqualTypeOf<StreamIterator<number>>();
expectTypeOf(stream([1], n => n, {backpressure: 32})).toEqualTypeOf<StreamIterator<number>>();
// Elements are awaited before the mapper is called; pMapSkip leaves an item out.
expectTypeOf(stream([Promise.resolve('a'), 'b'], s => (s === 'a' ? pMapSkip : s.length))).toEqualTypeOf<StreamIterator<number>>();
expectTypeOf(stream(source(), async n => (n > 0n ? n : pMapSkip), {concurrency: 2})).toEqualTypeOf<StreamIterator<bigint>>();

// StreamIterator: each method precisely typed (AsyncIterableIterator<T>'s done value is `any`
// from TypeScript 5.6, which let `(await rows.next()).value` be `any` once done).
expectTypeOf(rows.next).toEqualTypeOf<() => Promise<IteratorResult<string, undefined>>>();
expectTypeOf(rows.throw).toEqualTypeOf<(error?: unknown) => Promise<IteratorResult<string, undefined>>>();
expectTypeOf(rows[Symbol.asyncIterator]()).toEqualTypeOf<StreamIterator<string>>();
async function step() {
	const result = await rows.next();
	if (result.done) expectTypeOf(result.value).toEqualTypeOf<undefined>();
	else expectTypeOf(result.value).toEqualTypeOf<string>();
	expectTypeOf(result.value).toEqualTypeOf<string | undefined>();
	expectTypeOf(await rows.return()).toEqualTypeOf<IteratorReturnResult<undefined>>();
	expectTypeOf(await rows.return(5)).toEqualTypeOf<IteratorReturnResult<number>>();
	expectTypeOf((await rows.return()).value).toEqualTypeOf<undefined>();
}
void step;
// It is an AsyncIterable<T> and an AsyncIterator<T, undefined> (what `for await`, Readable.from
// and Array.fromAsync take), and an AsyncIterableIterator<T>.
expectTypeOf(rows).toExtend<AsyncIterable<string>>();
expectTypeOf(rows).toExtend<AsyncIterator<string, undefined>>();
expectTypeOf(rows).toExtend<AsyncIterableIterator<string>>();
// @ts-expect-error: a stream of strings is not one of numbers
expectTypeOf(rows).toExtend<AsyncIterable<number>>();
async function consume() {
	for await (const value of rows) expectTypeOf(value).toEqualTypeOf<string>();
}
void consume;

// @ts-expect-error: backpressure is a number
stream([1], n => n, {backpressure: '8'});
// @ts-expect-error: p-map's preserveOrder is called ordered
stream([1], n => n, {preserveOrder: false});
// @ts-expect-error: stream's input must be iterable
stream(1, n => n, {concurrency: 1});
// @ts-expect-error: options.concurrency is a number
all([() => 1], {concurrency: '2'});
// @ts-expect-error: race takes no concurrency
race([() => 1], {concurrency: 2});
// @ts-expect-error: any takes no timeout
any([() => 1], {timeout: 2});
// @ts-expect-error: timeout needs ms
timeout(() => 1);
// @ts-expect-error: ms is a number
timeout(() => 1, '10');
// @ts-expect-error: the tasks must be iterable
all(() => 1);
// @ts-expect-error: the context's signal is read-only
all([(context: CancellableContext) => (context.signal = new AbortController().signal)]);
