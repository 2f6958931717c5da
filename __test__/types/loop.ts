// Type tests for event-loop telemetry.
import {monitorEventLoop, currentStall} from 'async-shape';
import type {LoopMonitor, Stall, StallKind} from 'async-shape';
import {monitorEventLoopDelay, type IntervalHistogram} from 'node:perf_hooks';
import {expectType, expectNotAny} from './equal.js';

const monitor = monitorEventLoop({stallThreshold: 50, window: 1000, maxStalls: 10, logBlocked: true, trackPromises: 'auto'});
expectType<LoopMonitor>(monitor);
expectNotAny(monitor.max);
expectType<number>(monitor.percentile(99));
expectType<Map<number, number>>(monitor.percentiles);
expectType<bigint>(monitor.maxBigInt);
expectType<boolean>(monitor.enable());
expectType<boolean>(monitor.pressure({maxDelay: 100, maxUtilization: 0.9}));
expectType<string>(monitor.report());
expectType<Stall[]>(monitor.stalls());
monitor.on('stall', stall => {
	expectType<StallKind>(stall.kind);
	expectType<number>(stall.duration);
});
const now = currentStall(monitor.id);
if (now !== null) expectType<number>(now.start);

// A dashboard written against perf_hooks' histogram reads the monitor unchanged.
function dashboard(h: Pick<IntervalHistogram, 'min' | 'max' | 'mean' | 'stddev' | 'count' | 'exceeds' | 'percentiles' | 'percentile' | 'reset'>): number {
	return h.percentile(99) + h.max;
}
dashboard(monitor);
dashboard(monitorEventLoopDelay());

// @ts-expect-error stallThreshold is a number of ms
monitorEventLoop({stallThreshold: '50'});
// @ts-expect-error trackPromises is boolean | 'auto'
monitorEventLoop({trackPromises: 'always'});
// @ts-expect-error the id is a number
currentStall('1');
// @ts-expect-error stall listeners get a Stall
monitor.on('stall', (stall: string) => stall);
