// Type tests (ESM view: index.d.mts), exact with expect-type: the default import is pLimit, the
// ESM module has the CommonJS one's exports and types, and LimitFunction is p-limit 7.3's.
import pLimit, {pLimit as named, limitFunction, Pool, monitorEventLoop} from 'async-shape';
import * as esm from 'async-shape';
import type * as cjs from 'async-shape' with {'resolution-mode': 'require'};
import type {LimitFunction, Options, PoolStats, LoopMonitor, TaskResult, StallKind} from 'async-shape';
import type * as pLimitPackage from 'p-limit';
import {expectTypeOf} from 'expect-type';

// The default export is pLimit, and the ESM namespace is the CommonJS module's.
expectTypeOf(pLimit).toEqualTypeOf(named);
expectTypeOf(esm.default).toEqualTypeOf<typeof cjs.pLimit>();
expectTypeOf<Omit<typeof esm, 'default'>>().toEqualTypeOf<Omit<typeof cjs, 'default'>>();
// The type exports are the same declarations.
expectTypeOf<LimitFunction>().toEqualTypeOf<cjs.LimitFunction>();
expectTypeOf<Options>().toEqualTypeOf<cjs.Options>();
expectTypeOf<TaskResult<() => Promise<1>>>().toEqualTypeOf<cjs.TaskResult<() => Promise<1>>>();
expectTypeOf<StallKind>().toEqualTypeOf<cjs.StallKind>();

// A drop-in for p-limit 7.3: the same LimitFunction, and every pLimit and limitFunction call of
// p-limit's types gives the same types here.
expectTypeOf<LimitFunction>().toEqualTypeOf<pLimitPackage.LimitFunction>();
expectTypeOf<pLimitPackage.Options>().toExtend<Options>();
expectTypeOf<Parameters<typeof pLimitPackage.default>[0]>().toExtend<Parameters<typeof pLimit>[0]>();
declare const pLimitOptions: pLimitPackage.Options;
expectTypeOf(pLimit(pLimitOptions)).toEqualTypeOf<ReturnType<typeof pLimitPackage.default>>();
declare const pLimitFunction: typeof pLimitPackage.limitFunction;
const fetchLength = async (url: string, retries?: number) => url.length + (retries ?? 0);
expectTypeOf(limitFunction(fetchLength, {concurrency: 1})).toEqualTypeOf(pLimitFunction(fetchLength, {concurrency: 1}));

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
