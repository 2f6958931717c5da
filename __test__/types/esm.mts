// Type tests (ESM view: index.d.mts): the default import is pLimit, the named ones match.
import pLimit, {pLimit as named, limitFunction, Pool, monitorEventLoop} from 'async-shape';
import type {LimitFunction, PoolStats, LoopMonitor} from 'async-shape';
import {expectType} from './equal.js';

const limit = pLimit(2);
expectType<LimitFunction>(limit);
expectType<typeof pLimit>(named);
expectType<Promise<number>>(limit(async (n: number) => n, 1));
expectType<Promise<boolean>>(limitFunction(async () => true, {concurrency: 1})());
const stats: PoolStats = new Pool({concurrency: 1}).stats();
expectType<number>(stats.throughput);
// @ts-expect-error: concurrency must be a number or options
pLimit('2');
expectType<LoopMonitor>(monitorEventLoop());
