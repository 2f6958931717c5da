// Type tests for the callback bridge (exact, with expect-type).
import {readFile, stat, type PathLike, type PathOrFileDescriptor} from 'node:fs';
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
expectTypeOf(promisify).parameter(1).toEqualTypeOf<PromisifyOptions | undefined>();

// util.promisify.custom is honoured, and promisify.custom is that same unique symbol.
expectTypeOf(promisify.custom).toEqualTypeOf<typeof util.promisify.custom>();
const custom = Object.assign(function custom() {}, {[promisify.custom]: (n: number) => Promise.resolve(String(n))});
expectTypeOf(promisify(custom)).toEqualTypeOf<(n: number) => Promise<string>>();
const viaUtil = Object.assign(function viaUtil() {}, {[util.promisify.custom]: () => Promise.resolve(true)});
expectTypeOf(promisify(viaUtil)).toEqualTypeOf<() => Promise<boolean>>();

// Today's types, less precise than they could be (see the report of issue #13):
// `multiArgs: true` still types the result as the first value (issue #14 changes this);
expectTypeOf(promisify(lookup, {multiArgs: true})).toEqualTypeOf<(key: string) => Promise<number>>();
// a callback without a value gives Promise<unknown>, not Promise<void>;
expectTypeOf(promisify((callback: (error: unknown) => void) => callback(null))).toEqualTypeOf<() => Promise<unknown>>();
// five arguments or more fall back to (...args: unknown[]) => Promise<unknown>;
expectTypeOf(
	promisify((_a: 1, _b: 2, _c: 3, _d: 4, _e: 5, callback: (error: unknown, value: string) => void) => callback(null, '')),
).toEqualTypeOf<(...args: unknown[]) => Promise<unknown>>();
// an overloaded Node function is read through its last overload (util.promisify's types use
// the `__promisify__` declarations instead).
expectTypeOf(promisify(stat)).toEqualTypeOf<(a1: PathLike) => Promise<unknown>>();
expectTypeOf(promisify(readFile)).toEqualTypeOf<(a1: PathOrFileDescriptor) => Promise<ReturnType<typeof Buffer.from>>>();

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
