'use strict';
// The stream engine: an async iterable of mapped results with backpressure, its mappers run on a
// pool, with p-map's `pMapIterable` knobs. `Pool#stream` (./pool.js) runs it on its pool; the
// public `stream()` (lib/combinators/stream.js) on a private Pool. It does not require ./pool.js.
//
// As in pMapIterable: `concurrency` bounds this stream's mappers running, and, apart, its
// elements read but not yet mapped (awaiting their element or a mapper slot); `backpressure`
// bounds everything read and not yet taken by the consumer (in flight plus buffered), so memory is
// O(backpressure) when it is finite, and a consumer that stops pulling stops the reading. Each
// element is awaited before its mapper runs; a mapper that returns `pMapSkip` yields nothing.
// `ordered` yields in input order, otherwise as results land. The source is closed (`return()`)
// on `break`, on error and on abort, and the mappers' signal aborts. Mappers run through the
// pool's `run`, so slots, counts and statistics stay in the Rust core.

const {describe, validateFunction, validateSignal, validateOptionsObject} = require('../internal/validate');
const {onAbort} = require('../internal/signals');
const {Puller} = require('../internal/pull');
const {pMapSkip, isSkip, elementAwaiter} = require('./skip');

const closedReason = () => new DOMException('The stream was closed', 'AbortError');

// An ordered stream's place for an item whose mapper returned a skip marker: stepped over.
const SKIPPED = Object.freeze({ok: true, value: undefined});

function validateInput(input) {
  const ok =
    input !== null &&
    input !== undefined &&
    (typeof input[Symbol.iterator] === 'function' || typeof input[Symbol.asyncIterator] === 'function');
  if (!ok) throw new TypeError(`Expected \`input\` to be an Iterable or AsyncIterable, got ${describe(input)}`);
}

/**
 * @param {{run(task: Function, options?: object): Promise<unknown>}} pool runs the mappers (a Pool, or
 *   what Pool#stream hands in)
 * @param {number} concurrency this stream's mappers running at most, and its elements read ahead
 *   of them at most (an integer from 1, or Infinity)
 * @param {number} backpressure items read and not yet taken, at most (from `concurrency`, or Infinity)
 */
function createStream(pool, input, mapper, concurrency, backpressure, ordered, outerSignal) {
  let source;
  const controller = new AbortController();
  const context = {signal: controller.signal};
  // ordered: results by index; unordered: results in landing order.
  const ready = new Map();
  const landed = [];
  let landedHead = 0;
  let index = 0;
  let nextToYield = 0;
  // Items read and not landed: awaiting their element, waiting for a mapper slot, or mapping.
  let inFlight = 0;
  // Of those, the ones whose mapper has not started.
  let waiting = 0;
  // Handed to the pool and not landed: this stream's mapper slots taken.
  let submitted = 0;
  // Elements ready while every slot is taken, in the order they became ready: index, value, ….
  let held = [];
  let heldHead = 0;
  let pumpQueued = false;
  // As pMapIterable's `stopIndex`: once an item fails, nothing more is read, and no element past it
  // (ordered) or none at all (unordered) whose mapper has not started is mapped; the earlier
  // results are still yielded before the error.
  let stopIndex = Number.POSITIVE_INFINITY;
  let ended = false;
  let failure;
  let failed = false;
  let consumer;
  let unlisten;

  const buffered = () => (ordered ? ready.size : landed.length - landedHead);

  // Stops everything: aborts the mappers, closes the source, forgets buffered results.
  const stop = reason => {
    if (ended) return;
    ended = true;
    unlisten?.();
    controller.abort(reason);
    source?.close();
    ready.clear();
    landed.length = 0;
    landedHead = 0;
    held = [];
    heldHead = 0;
  };

  const take = () => {
    if (ordered) {
      for (;;) {
        const result = ready.get(nextToYield);
        if (result === undefined) return undefined;
        ready.delete(nextToYield);
        nextToYield++;
        if (result !== SKIPPED) return result;
      }
    }
    if (landedHead === landed.length) return undefined;
    const result = landed[landedHead];
    landed[landedHead++] = undefined;
    if (landedHead > 1024 && landedHead * 2 > landed.length) {
      landed.splice(0, landedHead);
      landedHead = 0;
    }
    return result;
  };

  // Answers a waiting next() if something can answer it.
  const deliver = () => {
    if (consumer === undefined) return;
    const {resolve, reject} = consumer;
    if (failed) {
      consumer = undefined;
      failed = false;
      reject(failure);
      return;
    }
    if (ended) {
      consumer = undefined;
      resolve({value: undefined, done: true});
      return;
    }
    const result = take();
    if (result !== undefined) {
      consumer = undefined;
      if (result.ok) {
        // The last value: nothing can fail any more, so the outer signal's listener goes now
        // rather than waiting for a final next() that the consumer may never make.
        if (source.exhausted && inFlight === 0 && !source.pulling && buffered() === 0) {
          unlisten?.();
          unlisten = undefined;
        }
        resolve({value: result.value, done: false});
      } else {
        stop(result.value);
        reject(result.value);
      }
      source.pump();
      return;
    }
    if (source.exhausted && inFlight === 0 && !source.pulling) {
      consumer = undefined;
      ended = true;
      unlisten?.();
      resolve({value: undefined, done: true});
    }
  };

  // A next() pending when the stream is closed from outside resolves as done.
  const settlePending = () => {
    if (consumer === undefined) return;
    const {resolve} = consumer;
    consumer = undefined;
    resolve({value: undefined, done: true});
  };

  const landedResult = (i, ok, value) => {
    inFlight--;
    if (ended) return;
    if (!ok) stopIndex = ordered ? Math.min(stopIndex, i) : -1;
    if (ok && isSkip(value)) {
      if (ordered) ready.set(i, SKIPPED);
    } else {
      const result = {ok, value};
      if (ordered) ready.set(i, result);
      else landed.push(result);
    }
    deliver();
    source.pump();
  };

  // Reading was held back by `concurrency` (elements read and not mapped): a mapper started, so
  // read on, out of the pool's start.
  const pumpLater = () => {
    pumpQueued = false;
    if (!ended) source.pump();
  };

  const submit = (i, value) => {
    submitted++;
    let started = false;
    pool
      .run(({signal}) => {
        started = true;
        if (waiting-- === concurrency && !pumpQueued) {
          pumpQueued = true;
          queueMicrotask(pumpLater);
        }
        // Past a failure: not mapped (its result could never be yielded).
        if (i > stopIndex) return pMapSkip;
        return mapper(value, i, {signal});
      }, context)
      .then(
        v => mapperDone(i, started, true, v),
        e => mapperDone(i, started, false, e),
      );
  };

  const mapperDone = (i, started, ok, value) => {
    submitted--;
    if (!started) waiting--;
    if (!ended && heldHead < held.length) {
      const k = held[heldHead];
      const v = held[heldHead + 1];
      held[heldHead] = undefined;
      held[heldHead + 1] = undefined;
      heldHead += 2;
      if (heldHead === held.length) {
        held.length = 0;
        heldHead = 0;
      }
      submit(k, v);
    }
    landedResult(i, ok, value);
  };

  // An element is ready: it maps now if this stream has a slot, else it waits for one.
  const elementReady = (i, value) => {
    if (ended) return;
    if (submitted < concurrency) {
      submit(i, value);
      return;
    }
    held.push(i, value);
  };

  const awaitThen = elementAwaiter(
    (i, value) => elementReady(i, value),
    (i, error) => {
      waiting--;
      landedResult(i, false, error);
    },
  );

  // An element read: its mapper runs once it is awaited, as pMapIterable's `await value`, in
  // p-map's order (see elementAwaiter; a value that is not a thenable costs no promise).
  const launch = value => {
    inFlight++;
    waiting++;
    awaitThen(index++, value);
  };

  const begin = () => {
    if (source !== undefined) return;
    source = new Puller(input, {
      canPull: () => !ended && stopIndex === Number.POSITIVE_INFINITY && waiting < concurrency && inFlight + buffered() < backpressure,
      take: launch,
      after: deliver,
      failed: error => {
        // A source that fails after the stream ended (closed, or failed by a mapper) is ignored,
        // as an async generator ignores what happens after it is done.
        if (ended) return;
        // As pMapIterable: the error takes the next position and reading stops (the puller is
        // exhausted). Ordered, every earlier result is yielded first, then it throws; unordered,
        // it throws once it is reached among the results that landed before it.
        const i = index++;
        inFlight++;
        landedResult(i, false, error);
      },
    });
    if (outerSignal !== undefined) {
      unlisten = onAbort(outerSignal, reason => {
        if (ended) return;
        failure = reason;
        failed = true;
        stop(reason);
        deliver();
      });
    }
  };

  const stream = {
    next() {
      if (consumer !== undefined) {
        return Promise.reject(new TypeError('Concurrent next() calls on an async-shape stream are not supported; await each one'));
      }
      if (outerSignal?.aborted && !ended) {
        failure = outerSignal.reason;
        failed = true;
        stop(failure);
      }
      if (!ended) {
        try {
          begin();
        } catch (error) {
          // The input's iterator could not be made: the stream fails with that error.
          failure = error;
          failed = true;
          stop(error);
        }
      }
      return new Promise((resolve, reject) => {
        consumer = {resolve, reject};
        deliver();
        if (consumer !== undefined) source?.pump();
      });
    },
    // As with an async generator, a next() still pending settles first, as done (the stream is
    // closed, so it has no value to give), then the return() or throw() settles.
    return(value) {
      stop(closedReason());
      failed = false;
      settlePending();
      return Promise.resolve({value, done: true});
    },
    throw(error) {
      stop(error);
      failed = false;
      settlePending();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return stream;
}

function readStreamOptions(input, mapper, options) {
  validateInput(input);
  validateFunction(mapper, 'mapper');
  validateOptionsObject(options);
  const {ordered = true, signal} = options ?? {};
  if (typeof ordered !== 'boolean') {
    throw new TypeError(`Expected \`ordered\` to be a boolean, got ${describe(ordered)}`);
  }
  validateSignal(signal);
  return {ordered, signal};
}

// p-map's `isLimit`: a safe integer from `minimum` up, or Infinity (2**60 is refused, as p-map
// refuses it).
const isLimit = (value, minimum) => (Number.isSafeInteger(value) || value === Number.POSITIVE_INFINITY) && value >= minimum;

// A value as p-map's messages show it: `${value}` (typeof), without throwing for a symbol.
const shown = value => {
  let text;
  try {
    text = String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return `\`${text}\` (${typeof value})`;
};

/**
 * Reads `concurrency` and `backpressure` as p-map's `pMapIterable` does: `concurrency` an integer
 * from 1 up or Infinity (default Infinity), `backpressure` an integer from `concurrency` up or
 * Infinity (default `concurrency`); TypeErrors with p-map's wording. For Pool#stream
 * (`poolConcurrency` given), `concurrency` defaults to the pool's, or to `backpressure` when that
 * is lower.
 */
function readStreamBounds(options, poolConcurrency) {
  const {concurrency: requested, backpressure: requestedBackpressure} = options ?? {};
  let concurrency = requested;
  if (concurrency === undefined) {
    concurrency = poolConcurrency ?? Number.POSITIVE_INFINITY;
    // A pool's concurrency past the safe integers (a Pool accepts 2**53) bounds nothing: Infinity.
    if (!Number.isSafeInteger(concurrency)) concurrency = Number.POSITIVE_INFINITY;
    if (poolConcurrency !== undefined && requestedBackpressure !== undefined && isLimit(requestedBackpressure, 1)) {
      concurrency = Math.min(concurrency, requestedBackpressure);
    }
  } else if (!isLimit(concurrency, 1)) {
    throw new TypeError(`Expected \`concurrency\` to be an integer from 1 and up or \`Infinity\`, got ${shown(concurrency)}`);
  }
  const backpressure = requestedBackpressure === undefined ? concurrency : requestedBackpressure;
  if (!isLimit(backpressure, concurrency)) {
    throw new TypeError(
      `Expected \`backpressure\` to be an integer from \`concurrency\` (${concurrency}) and up or \`Infinity\`, got ${shown(backpressure)}`,
    );
  }
  return {concurrency, backpressure};
}

module.exports = {createStream, readStreamOptions, readStreamBounds};
