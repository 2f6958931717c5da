// Type tests for the combinators and streams (exact, with expect-type).
import {all, allSettled, race, any, timeout, stream} from 'async-shape';
import type {CancellableContext, GroupOptions, MapContext, RaceOptions, StreamOptions, Task, TaskResult} from 'async-shape';
import {expectTypeOf} from 'expect-type';

// --- The type exports ---
expectTypeOf<CancellableContext>().toEqualTypeOf<{readonly signal: AbortSignal}>();
expectTypeOf<Task<number>>().toEqualTypeOf<((context: CancellableContext) => PromiseLike<number> | number) | PromiseLike<number> | number>();
expectTypeOf<GroupOptions>().toEqualTypeOf<{readonly signal?: AbortSignal; readonly concurrency?: number; readonly timeout?: number}>();
expectTypeOf<RaceOptions>().toEqualTypeOf<{readonly signal?: AbortSignal}>();
expectTypeOf<StreamOptions>().toEqualTypeOf<{readonly concurrency: number; readonly ordered?: boolean; readonly signal?: AbortSignal}>();
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
// Today a task written inline in a tuple gets no contextual type: its `{signal}` is an implicit
// `any` (an error under `strict`), so it must be annotated, unlike timeout's task below.
// @ts-expect-error: Binding element 'signal' implicitly has an 'any' type.
void all([({signal}) => signal.aborted]);
// @ts-expect-error: the same for race (and allSettled, any)
void race([({signal}) => signal.aborted]);
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
expectTypeOf(rows).toEqualTypeOf<AsyncIterableIterator<string>>();
async function* source() {
	yield 1n;
}
expectTypeOf(stream(source(), n => n > 0n, {concurrency: 4, signal: AbortSignal.abort()})).toEqualTypeOf<AsyncIterableIterator<boolean>>();
expectTypeOf(stream).parameter(2).toEqualTypeOf<StreamOptions>();
async function consume() {
	for await (const value of rows) expectTypeOf(value).toEqualTypeOf<string>();
}
void consume;

// @ts-expect-error: stream needs a concurrency
stream([1], n => n, {});
// @ts-expect-error: stream needs its options
stream([1], n => n);
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
