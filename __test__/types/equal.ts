// Helpers for the type tests (no dependency on tsd or expect-type).

/** `value` must be assignable to `Expected` (the argument is typed in `Expected`'s context). */
export function expectType<Expected>(_value: Expected): void {}

/** Fails to compile when `value` is `any`, which would make `expectType` pass for anything. */
export function expectNotAny<T>(_value: T & (0 extends 1 & T ? never : unknown)): void {}
