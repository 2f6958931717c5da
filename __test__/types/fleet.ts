// Type tests for a limit shared by a fleet (#16): SharedOptions, FleetEvent, FleetStats, pLimit's
// shared overload and the Pool's ready/close/stats().fleet. Exact, as api.ts.
import pLimit, {Pool, LeaseLostError, FleetError} from 'async-shape';
import type {FleetEvent, FleetStats, LimitFunction, PoolStats, SharedLimitFunction, SharedLimitOptions, SharedOptions, SharedTlsOptions} from 'async-shape';
import {expectTypeOf} from 'expect-type';

expectTypeOf<FleetEvent>().toEqualTypeOf<{
	readonly type: 'storeDown' | 'storeUp' | 'leaseLost' | 'leaseRegained' | 'fatal';
	readonly detail?: string;
	readonly error?: Error;
}>();
expectTypeOf<FleetStats>().toEqualTypeOf<{
	readonly limit: number;
	readonly held: number;
	readonly holders: number;
	readonly inFlight: number;
	readonly fleetQueue: number;
	readonly storeUp: boolean;
	readonly leaseRemainingMs: number;
	readonly grants: number;
	readonly returned: number;
	readonly roundTrips: number;
	readonly maxWaitMs: number;
	readonly fenced: number;
	readonly ready: boolean;
}>();
expectTypeOf<SharedLimitOptions>().toEqualTypeOf<{
	readonly concurrency: number;
	readonly shared: SharedOptions;
	readonly rejectOnClear?: boolean;
}>();
expectTypeOf<SharedLimitFunction>().toEqualTypeOf<
	LimitFunction & {
		ready(): Promise<void>;
		close(): Promise<void>;
		readonly fleet: FleetStats;
	}
>();

// SharedOptions: redis and key are required; localConcurrency goes with onStoreDown: 'local' only.
const shared: SharedOptions = {redis: 'redis://127.0.0.1:6379', key: 'payments-api'};
const full: SharedOptions = {
	redis: 'rediss://user:secret@redis.internal:6380/2',
	key: 'payments-api',
	leaseMs: 3000,
	quantumMs: 0,
	onStoreDown: 'local',
	localConcurrency: 4,
	onEvent: event => expectTypeOf(event).toEqualTypeOf<FleetEvent>(),
};
const waiting: SharedOptions = {redis: 'redis://h', key: 'k', onStoreDown: 'wait'};
// @ts-expect-error: 'local' needs localConcurrency
const noLocal: SharedOptions = {redis: 'redis://h', key: 'k', onStoreDown: 'local'};
// @ts-expect-error: localConcurrency does not go with 'wait'
const waitLocal: SharedOptions = {redis: 'redis://h', key: 'k', onStoreDown: 'wait', localConcurrency: 2};
// @ts-expect-error: the key is a string
const numericKey: SharedOptions = {redis: 'redis://h', key: 5};
// @ts-expect-error: the key is required
const noKey: SharedOptions = {redis: 'redis://h'};
// @ts-expect-error: onStoreDown is 'wait' or 'local'
const otherMode: SharedOptions = {redis: 'redis://h', key: 'k', onStoreDown: 'fail'};
// TLS: shared.tls with Node's names; ca is PEM as a string or bytes, or an array of them.
const tlsShared: SharedOptions = {redis: 'rediss://fleet:pw@10.0.0.5:6380', key: 'k', tls: {ca: '-----BEGIN CERTIFICATE-----…'}};
const tlsBytes: SharedTlsOptions = {ca: [Buffer.from('pem'), 'pem'], rejectUnauthorized: true};
expectTypeOf<SharedOptions['tls']>().toEqualTypeOf<SharedTlsOptions | undefined>();
// @ts-expect-error: rejectUnauthorized is a boolean
const tlsBadReject: SharedTlsOptions = {rejectUnauthorized: 'no'};
// @ts-expect-error: ca is PEM text or bytes
const tlsBadCa: SharedTlsOptions = {ca: 42};
// @ts-expect-error: client certificates are not supported
const tlsCert: SharedTlsOptions = {cert: 'pem'};
void [noLocal, waitLocal, numericKey, noKey, otherMode, waiting, tlsShared, tlsBytes, tlsBadReject, tlsBadCa, tlsCert];

// pLimit with shared: the limit function plus ready/close/fleet.
const limit = pLimit({concurrency: 20, shared});
expectTypeOf(limit).toEqualTypeOf<SharedLimitFunction>();
expectTypeOf(limit.ready()).toEqualTypeOf<Promise<void>>();
expectTypeOf(limit.close()).toEqualTypeOf<Promise<void>>();
expectTypeOf(limit.fleet).toEqualTypeOf<FleetStats>();
expectTypeOf(limit(async (n: number) => n * 2, 1)).toEqualTypeOf<Promise<number>>();
expectTypeOf(pLimit({concurrency: 20, shared: full, rejectOnClear: true})).toEqualTypeOf<SharedLimitFunction>();
// A local limit keeps p-limit's shape: no close/ready.
// @ts-expect-error: only a shared limit has close()
void pLimit(2).close();
// @ts-expect-error: an adaptive limit cannot be shared
void pLimit({concurrency: 'adaptive', shared});

// Pool with shared: ready/close on every pool, stats().fleet when shared.
const pool = new Pool({concurrency: 32, shared, maxQueue: 1000, timeout: 5000});
expectTypeOf(pool.ready()).toEqualTypeOf<Promise<void>>();
expectTypeOf(pool.close()).toEqualTypeOf<Promise<void>>();
expectTypeOf<PoolStats['fleet']>().toEqualTypeOf<FleetStats | undefined>();
expectTypeOf(pool.stats().fleet?.held).toEqualTypeOf<number | undefined>();
void pool.run(({signal}) => expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>());

// The errors.
const lost = new LeaseLostError();
expectTypeOf(lost.code).toEqualTypeOf<'ASYNC_SHAPE_LEASE_LOST'>();
expectTypeOf(lost.name).toEqualTypeOf<'LeaseLostError'>();
expectTypeOf(lost).toExtend<Error>();
const fatal = new FleetError();
expectTypeOf(fatal.code).toEqualTypeOf<'ASYNC_SHAPE_FLEET'>();
expectTypeOf(fatal.name).toEqualTypeOf<'FleetError'>();
