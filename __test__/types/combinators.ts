// Type tests for the combinators and streams.
import {all, allSettled, race, any, timeout, stream, Pool} from 'async-shape';
import type {CancellableContext, Task} from 'async-shape';
import {expectType, expectNotAny} from './equal.js';

// Tuples keep their element types; functions, promises and values mix.
const tuple = all([async ({signal}: CancellableContext) => (signal.aborted ? 1 : 2), Promise.resolve('s'), true] as const);
expectType<Promise<[number, string, true]>>(tuple);
expectNotAny(tuple);
expectType<Promise<number[]>>(all([1, 2, 3].map(n => async () => n), {concurrency: 2, timeout: 100}));
expectType<Promise<string[]>>(all(new Set([() => 'a'])));

const settled = allSettled([async () => 1, () => 'x'] as const);
expectType<Promise<[PromiseSettledResult<number>, PromiseSettledResult<string>]>>(settled);

expectType<Promise<number | string>>(race([async () => 1, async () => 'two'] as const));
expectType<Promise<number>>(any([({signal}: CancellableContext) => (signal.aborted ? 0 : 1)], {signal: new AbortController().signal}));
expectType<Promise<string>>(timeout(async ({signal}) => String(signal.aborted), 1000));
expectType<Promise<number>>(timeout(Promise.resolve(5), 10));

const tasks: Array<Task<number>> = [() => 1, Promise.resolve(2), 3];
expectType<Promise<number[]>>(all(tasks));

async function consume() {
	for await (const value of stream([1, 2], async (n, index, {signal}) => `${n}${index}${signal.aborted}`, {concurrency: 2, ordered: false})) {
		expectType<string>(value);
	}
	async function* source() {
		yield 1;
	}
	for await (const value of new Pool({concurrency: 4}).stream(source(), n => n * 2)) {
		expectType<number>(value);
	}
}
void consume;

// @ts-expect-error: stream needs a concurrency
stream([1], n => n, {});
// @ts-expect-error: options.concurrency is a number
all([() => 1], {concurrency: '2'});
// @ts-expect-error: race takes no concurrency
race([() => 1], {concurrency: 2});
// @ts-expect-error: timeout needs ms
timeout(() => 1);
// @ts-expect-error: the context's signal is read-only
all([(context: CancellableContext) => (context.signal = new AbortController().signal)]);
