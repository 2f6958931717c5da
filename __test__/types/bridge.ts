// Type tests for the callback bridge.
import {readFile, stat} from 'node:fs';
import {promisify, callbackify, dezalgo, bridgeStats} from 'async-shape';
import type {MisuseEvent, BridgeCounts} from 'async-shape';
import {expectType, expectNotAny} from './equal.js';

function lookup(key: string, callback: (error: Error | null, value?: number) => void): void {
	callback(null, key.length);
}
const lookupAsync = promisify(lookup);
expectType<(key: string) => Promise<number>>(lookupAsync);
expectNotAny(lookupAsync('a'));
expectType<Promise<number>>(lookupAsync('x'));

const statAsync = promisify(stat);
void statAsync;
const readFileAsync = promisify(readFile);
void readFileAsync;

const custom = Object.assign(function custom() {}, {[promisify.custom]: (n: number) => Promise.resolve(String(n))});
expectType<(n: number) => Promise<string>>(promisify(custom));

promisify(lookup, {name: 'lookup', onMisuse: (event: MisuseEvent) => expectType<string>(event.kind), multiArgs: false});

const legacy = callbackify(async (id: string) => id.length);
legacy('x', (error, value) => {
	expectType<unknown>(error);
	expectType<number>(value);
});
const onDone = dezalgo((error: Error | null, value: number) => void [error, value]);
onDone(null, 1);
const counts: Record<string, BridgeCounts> = bridgeStats({reset: true});
void counts;

// @ts-expect-error: the promisified function keeps the original's argument types
lookupAsync(5);
// @ts-expect-error: onMisuse is a function
promisify(lookup, {onMisuse: 'warn'});
// @ts-expect-error: the callbackified function needs a callback
legacy('x');
// @ts-expect-error: dezalgo keeps the callback's parameters
onDone('not an error', 1);
