// Type tests for adaptive concurrency and drop().
import pLimit, {Pool, DroppedError} from 'async-shape';
import type {AdaptiveConcurrency, AdaptiveStats, TaskContext} from 'async-shape';
import {expectType} from './equal.js';

const pool = new Pool({concurrency: 'adaptive', onLimitChange: (limit: number) => void limit});
new Pool({concurrency: {adaptive: 'gradient', min: 2, max: 64, initial: 8}});
const bounds: AdaptiveConcurrency = {adaptive: 'aimd', max: 10};
new Pool({concurrency: bounds});
pLimit('adaptive');
pLimit({concurrency: {adaptive: 'vegas'}, onLimitChange: limit => expectType<number>(limit)});

expectType<Promise<string>>(
	pool.run(async ({signal, drop}: TaskContext) => {
		if (signal?.aborted) drop();
		throw new DroppedError('429', {cause: 'rate limited'});
	}).then(() => 'never'),
);
const stats = pool.stats();
expectType<number>(stats.dropped);
const adaptive: AdaptiveStats | undefined = stats.adaptive;
if (adaptive) {
	expectType<'vegas' | 'gradient' | 'aimd'>(adaptive.algorithm);
	expectType<number | undefined>(adaptive.queue);
	expectType<number>(adaptive.history[0]?.limit ?? 0);
}

// @ts-expect-error: unknown controller
new Pool({concurrency: {adaptive: 'bbr'}});
// @ts-expect-error: 'auto' is not a concurrency
pLimit('auto');
// @ts-expect-error: drop takes no argument
pool.run(({drop}) => drop(1));
