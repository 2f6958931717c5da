// Type tests for the callback bridge (exact, with expect-type).
import {readFile, stat, type PathLike, type PathOrFileDescriptor} from 'node:fs';
import {lookup as dnsLookup} from 'node:dns';
import {exec} from 'node:child_process';
import * as util from 'node:util';
import {promisify, callbackify, dezalgo, bridgeStats} from 'async-shape';
import type {MisuseEvent, BridgeCounts, PromisifyOptions} from 'async-shape';
import {expectTypeOf} from 'expect-type';

// --- The type exports ---
expectTypeOf<MisuseEvent>().toEqualTypeOf<{
	readonly kind: 'sync-callback' | 'double-callback' | 'dropped-error';
	readonly name: string;
	readonly count: number;
	readonly error?: unknown;
	readonly value?: unknown;
}>();
expectTypeOf<PromisifyOptions>().toEqualTypeOf<{
	readonly multiArgs?: boolean;
	readonly onMisuse?: (event: MisuseEvent) => void;
	readonly name?: string;
}>();
expectTypeOf<BridgeCounts>().toEqualTypeOf<{readonly syncCallbacks: number; readonly doubleCallbacks: number; readonly droppedErrors: number}>();

// --- promisify: the callback's value type and the other arguments carry over ---
function lookup(key: string, callback: (error: Error | null, value?: number) => void): void {
	callback(null, key.length);
}
const lookupAsync = promisify(lookup);
function lookup5(_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, callback: (error: Error | null, value: string) => void): void {
	callback(null, '');
}
expectTypeOf(lookupAsync).toEqualTypeOf<(key: string) => Promise<number>>();
expectTypeOf(lookupAsync('x')).toEqualTypeOf<Promise<number>>();
expectTypeOf(promisify((callback: (error: Error | null, value: string) => void) => callback(null, ''))).toEqualTypeOf<() => Promise<string>>();
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, callback: (error: unknown, value: bigint) => void) => callback(null, 1n)),
).toEqualTypeOf<(a1: 1, a2: 2, a3: 3, a4: 4) => Promise<bigint>>();
expectTypeOf(promisify(lookup, {name: 'lookup', multiArgs: false})).toEqualTypeOf<(key: string) => Promise<number>>();
promisify(lookup, {
	onMisuse: event => {
		expectTypeOf(event).toEqualTypeOf<MisuseEvent>();
	},
});
// The overloads' options: any (custom, and the untyped fallback), multiArgs true, multiArgs absent or false.
expectTypeOf(promisify).parameter(1).toEqualTypeOf<
	PromisifyOptions | (PromisifyOptions & {readonly multiArgs: true}) | (PromisifyOptions & {readonly multiArgs?: false}) | undefined
>();

// util.promisify.custom is honoured, and promisify.custom is that same unique symbol.
expectTypeOf(promisify.custom).toEqualTypeOf<typeof util.promisify.custom>();
const custom = Object.assign(function custom() {}, {[promisify.custom]: (n: number) => Promise.resolve(String(n))});
expectTypeOf(promisify(custom)).toEqualTypeOf<(n: number) => Promise<string>>();
const viaUtil = Object.assign(function viaUtil() {}, {[util.promisify.custom]: () => Promise.resolve(true)});
expectTypeOf(promisify(viaUtil)).toEqualTypeOf<() => Promise<boolean>>();

// `multiArgs: true` resolves every success value as an array (issue #14; it was typed as the first
// value): the tuple of the callback's value parameters, optional ones optional.
expectTypeOf(promisify(lookup, {multiArgs: true})).toEqualTypeOf<(key: string) => Promise<[value?: number | undefined]>>();
function twoValues(a: string, callback: (error: Error | null, status: number, body: string) => void): void {
	callback(null, a.length, a);
}
expectTypeOf(promisify(twoValues, {multiArgs: true})).toEqualTypeOf<(a1: string) => Promise<[status: number, body: string]>>();
expectTypeOf(promisify(twoValues, {multiArgs: true, name: 'two', onMisuse: () => {}})).toEqualTypeOf<
	(a1: string) => Promise<[status: number, body: string]>
>();
// (without multiArgs, the first value, as util.promisify)
expectTypeOf(promisify(twoValues)).toEqualTypeOf<(a1: string) => Promise<number>>();
expectTypeOf(promisify((callback: (error: unknown) => void) => callback(null), {multiArgs: true})).toEqualTypeOf<() => Promise<[]>>();
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, callback: (error: unknown, ...values: bigint[]) => void) => callback(null, 1n), {multiArgs: true}),
).toEqualTypeOf<(a1: 1, a2: 2, a3: 3, a4: 4) => Promise<bigint[]>>();
async function useBoth() {
	const [status, body] = await promisify(twoValues, {multiArgs: true})('x');
	expectTypeOf(status).toEqualTypeOf<number>();
	expectTypeOf(body).toEqualTypeOf<string>();
}
void useBoth;
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, callback: (error: unknown, value: string) => void) => callback(null, ''), {multiArgs: true}),
).toEqualTypeOf<(a1: 1, a2: 2, a3: 3, a4: 4, a5: 5) => Promise<[value: string]>>();
// Six arguments or more: an array of unknown values.
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, _f: 6, callback: (error: unknown, value: string) => void) => callback(null, ''), {
		multiArgs: true,
	}),
).toEqualTypeOf<(...args: unknown[]) => Promise<unknown[]>>();
// multiArgs not known to be true or false (a boolean, or options typed PromisifyOptions): the
// value may be either, so it is `unknown` (the fallback), never a wrong one.
declare const multiArgs: boolean;
expectTypeOf(promisify(lookup, {multiArgs})).toEqualTypeOf<(...args: unknown[]) => Promise<unknown>>();
declare const someOptions: PromisifyOptions;
expectTypeOf(promisify(lookup, someOptions)).toEqualTypeOf<(...args: unknown[]) => Promise<unknown>>();
// util.promisify.custom wins over multiArgs, as at run time.
expectTypeOf(promisify(custom, {multiArgs: true})).toEqualTypeOf<(n: number) => Promise<string>>();

// Today's types, less precise than they could be (see the report of issue #13):
// a callback without a value gives Promise<unknown>, not Promise<void>;
expectTypeOf(promisify((callback: (error: unknown) => void) => callback(null))).toEqualTypeOf<() => Promise<unknown>>();
// six arguments or more fall back to (...args: unknown[]) => Promise<unknown> (util's types go to five).
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, _f: 6, callback: (error: unknown, value: string) => void) => callback(null, '')),
).toEqualTypeOf<(...args: unknown[]) => Promise<unknown>>();

// --- util-style code compiles unchanged (issue #14): promisify types a call as util.promisify's
// types do, or narrower (an optional value parameter `value?: T` gives T, util's T | undefined) ---
// Node's callback APIs are read through their `__promisify__` declarations, as util's types do
// (it read the last overload before #14: `promisify(readFile)('x', 'utf8')` did not compile).
expectTypeOf(promisify(stat)).toEqualTypeOf<typeof stat.__promisify__>();
expectTypeOf(promisify(readFile)).toEqualTypeOf(util.promisify(readFile));
expectTypeOf(promisify(stat)).toEqualTypeOf(util.promisify(stat));
expectTypeOf(promisify(lookup5)).toEqualTypeOf(util.promisify(lookup5));
expectTypeOf(promisify(dnsLookup)).toEqualTypeOf(util.promisify(dnsLookup));
expectTypeOf(promisify(exec)).toEqualTypeOf(util.promisify(exec));
expectTypeOf(promisify(setTimeout)).toEqualTypeOf(util.promisify(setTimeout));
expectTypeOf(promisify(lookup)).toEqualTypeOf<(key: string) => Promise<number>>();
expectTypeOf(util.promisify(lookup)).toEqualTypeOf<(arg1: string) => Promise<number | undefined>>();
expectTypeOf(promisify(lookup)).toExtend<(arg1: string) => Promise<number | undefined>>();
async function utilStyle(path: PathOrFileDescriptor, link: PathLike) {
	const text: string = await promisify(readFile)(path, 'utf8');
	const bytes: Buffer = await promisify(readFile)(path);
	const info = await promisify(stat)(link);
	expectTypeOf(info.size).toEqualTypeOf<number>();
	const {address, family} = await promisify(dnsLookup)('localhost');
	expectTypeOf([address, family] as const).toEqualTypeOf<readonly [string, number]>();
	const {stdout} = await promisify(exec)('ls');
	expectTypeOf(stdout).toEqualTypeOf<string>();
	const five = promisify((_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, callback: (error: unknown, value: string) => void) => callback(null, ''));
	expectTypeOf(five).toEqualTypeOf<(a1: 1, a2: 2, a3: 3, a4: 4, a5: 5) => Promise<string>>();
	void [text, bytes];
}
void utilStyle;

// @ts-expect-error: the promisified function keeps the original's argument types
void lookupAsync(5);
// @ts-expect-error: and its arity
void lookupAsync();
// @ts-expect-error: onMisuse is a function
promisify(lookup, {onMisuse: 'warn'});
// @ts-expect-error: multiArgs is a boolean
promisify(lookup, {multiArgs: 1});
// @ts-expect-error: the name is a string
promisify(lookup, {name: Symbol('lookup')});
// @ts-expect-error: a function is needed
promisify({});

// --- callbackify: the result type reaches the callback; the arguments carry over ---
const legacy = callbackify(async (id: string) => id.length);
expectTypeOf(legacy).toEqualTypeOf<(a1: string, callback: (error: unknown, value: number) => void) => void>();
legacy('x', (error, value) => {
	expectTypeOf(error).toEqualTypeOf<unknown>();
	expectTypeOf(value).toEqualTypeOf<number>();
});
expectTypeOf(callbackify(() => 'sync')).toEqualTypeOf<(callback: (error: unknown, value: string) => void) => void>();
expectTypeOf(callbackify(async (_a: 1, _b: 2, _c: 3) => true)).toEqualTypeOf<
	(a1: 1, a2: 2, a3: 3, callback: (error: unknown, value: boolean) => void) => void
>();
// Today: four arguments or more fall back to (...args: unknown[]) => void, and an optional
// parameter is dropped (the shortest overload that fits is chosen).
expectTypeOf(callbackify(async (_a: 1, _b: 2, _c: 3, _d: 4) => true)).toEqualTypeOf<(...args: unknown[]) => void>();
expectTypeOf(callbackify(async (_a: string, _b?: number) => true)).toEqualTypeOf<
	(a1: string, callback: (error: unknown, value: boolean) => void) => void
>();

// @ts-expect-error: the callbackified function needs a callback
legacy('x');
// @ts-expect-error: and keeps the original's argument types
legacy(1, () => {});

// --- dezalgo keeps the callback's parameters ---
const onDone = dezalgo((error: Error | null, value: number) => void [error, value]);
expectTypeOf(onDone).toEqualTypeOf<(error: Error | null, value: number) => void>();
expectTypeOf(dezalgo((..._rest: string[]) => 1)).toEqualTypeOf<(...args: string[]) => void>();
// @ts-expect-error: dezalgo keeps the callback's parameters
onDone('not an error', 1);

// --- bridgeStats ---
expectTypeOf(bridgeStats).toEqualTypeOf<(options?: {readonly reset?: boolean}) => Record<string, BridgeCounts>>();
expectTypeOf(bridgeStats({reset: true})['lookup']).toEqualTypeOf<BridgeCounts | undefined>();
// @ts-expect-error: reset is a boolean
bridgeStats({reset: 'yes'});
