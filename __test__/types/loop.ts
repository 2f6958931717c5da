// Type tests for event-loop telemetry (exact, with expect-type).
import {monitorEventLoop, currentStall} from 'async-shape';
import type {LoopMonitor, MonitorEventLoopOptions, PressureLimits, Stall, StallKind} from 'async-shape';
import {monitorEventLoopDelay, type IntervalHistogram} from 'node:perf_hooks';
import {expectTypeOf} from 'expect-type';

// --- The type exports ---
expectTypeOf<StallKind>().toEqualTypeOf<'macrotask' | 'microtask-burst' | 'long-microtask' | 'mixed' | 'unknown'>();
expectTypeOf<Stall>().toEqualTypeOf<{
	readonly start: number;
	readonly duration: number;
	readonly kind: StallKind;
	readonly reactions: number;
	readonly microtask: number;
	readonly macrotask: number;
}>();
expectTypeOf<MonitorEventLoopOptions>().toEqualTypeOf<{
	readonly stallThreshold?: number;
	readonly window?: number;
	readonly maxStalls?: number;
	readonly logBlocked?: boolean;
	readonly trackPromises?: boolean | 'auto';
}>();
expectTypeOf<PressureLimits>().toEqualTypeOf<{readonly maxDelay?: number; readonly maxUtilization?: number}>();

// --- monitorEventLoop and currentStall ---
expectTypeOf(monitorEventLoop).toEqualTypeOf<(options?: MonitorEventLoopOptions) => LoopMonitor>();
expectTypeOf(currentStall).toEqualTypeOf<(id: number) => Stall | null>();
const monitor = monitorEventLoop({stallThreshold: 50, window: 1000, maxStalls: 10, logBlocked: true, trackPromises: 'auto'});
expectTypeOf(monitor).toEqualTypeOf<LoopMonitor>();
expectTypeOf(currentStall(monitor.id)).toEqualTypeOf<Stall | null>();

// --- LoopMonitor: its own members ---
expectTypeOf<Pick<LoopMonitor, 'id' | 'native' | 'stallThreshold' | 'enabled' | 'stallCount'>>().toEqualTypeOf<{
	readonly id: number;
	readonly native: boolean;
	readonly stallThreshold: number;
	readonly enabled: boolean;
	readonly stallCount: number;
}>();
expectTypeOf(monitor.enable).toEqualTypeOf<() => boolean>();
expectTypeOf(monitor.disable).toEqualTypeOf<() => boolean>();
expectTypeOf(monitor.reset).toEqualTypeOf<() => void>();
expectTypeOf(monitor.utilization).toEqualTypeOf<() => number>();
expectTypeOf(monitor.currentStall).toEqualTypeOf<() => Stall | null>();
expectTypeOf(monitor.stalls).toEqualTypeOf<() => Stall[]>();
expectTypeOf(monitor.pressure).toEqualTypeOf<(limits?: PressureLimits) => boolean>();
expectTypeOf(monitor.report).toEqualTypeOf<() => string>();
expectTypeOf(monitor.close).toEqualTypeOf<() => void>();

// The histogram side, as perf_hooks' IntervalHistogram has it.
expectTypeOf<
	Pick<
		LoopMonitor,
		| 'count'
		| 'countBigInt'
		| 'min'
		| 'minBigInt'
		| 'max'
		| 'maxBigInt'
		| 'mean'
		| 'stddev'
		| 'exceeds'
		| 'exceedsBigInt'
		| 'percentiles'
		| 'percentilesBigInt'
	>
>().toEqualTypeOf<{
	readonly count: number;
	readonly countBigInt: bigint;
	readonly min: number;
	readonly minBigInt: bigint;
	readonly max: number;
	readonly maxBigInt: bigint;
	readonly mean: number;
	readonly stddev: number;
	readonly exceeds: number;
	readonly exceedsBigInt: bigint;
	readonly percentiles: Map<number, number>;
	readonly percentilesBigInt: Map<number, bigint>;
}>();
expectTypeOf(monitor.percentile).toEqualTypeOf<(p: number) => number>();
expectTypeOf(monitor.percentileBigInt).toEqualTypeOf<(p: number) => bigint>();
expectTypeOf(monitor.toJSON()).toEqualTypeOf<{
	count: number;
	min: number;
	max: number;
	mean: number;
	exceeds: number;
	stddev: number;
	percentiles: Record<string, number>;
}>();
// A dashboard written against perf_hooks' histogram reads the monitor unchanged.
function dashboard(h: Pick<IntervalHistogram, 'min' | 'max' | 'mean' | 'stddev' | 'count' | 'exceeds' | 'percentiles' | 'percentile' | 'reset'>): number {
	return h.percentile(99) + h.max;
}
dashboard(monitor);
dashboard(monitorEventLoopDelay());

// --- Events: 'stall' listeners get a Stall, and on/once/off return the monitor ---
expectTypeOf(monitor).toExtend<NodeJS.EventEmitter>();
expectTypeOf(monitor.on('stall', stall => expectTypeOf(stall).toEqualTypeOf<Stall>())).toEqualTypeOf<LoopMonitor>();
expectTypeOf(monitor.once('stall', stall => expectTypeOf(stall.kind).toEqualTypeOf<StallKind>())).toEqualTypeOf<LoopMonitor>();
expectTypeOf(monitor.off('stall', () => {})).toEqualTypeOf<LoopMonitor>();
// Today the other EventEmitter methods keep Node's untyped signatures (see the report of #13).
monitor.addListener('stall', (stall: string) => void stall);

// @ts-expect-error: stallThreshold is a number of ms
monitorEventLoop({stallThreshold: '50'});
// @ts-expect-error: trackPromises is boolean | 'auto'
monitorEventLoop({trackPromises: 'always'});
// @ts-expect-error: unknown option
monitorEventLoop({threshold: 50});
// @ts-expect-error: the id is a number
currentStall('1');
// @ts-expect-error: stall listeners get a Stall
monitor.on('stall', (stall: string) => stall);
// @ts-expect-error: 'stall' is the monitor's one event
monitor.on('stalled', () => {});
// @ts-expect-error: the id is read-only
monitor.id = 2;
// @ts-expect-error: a stall is read-only
monitor.stalls()[0]!.duration = 0;
