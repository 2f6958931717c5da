'use strict';
// The stream engine: an async iterable of mapped results with backpressure and O(concurrency)
// memory, its mappers run on a pool. `Pool#stream` (./pool.js) runs it on its pool; the public
// `stream()` (lib/combinators/stream.js) on a private Pool. It does not require ./pool.js.
//
// Items are read from the source only while (mappers in flight + results not yet taken) is below
// `concurrency`: a consumer that stops pulling stops the reading after at most `concurrency`
// results. `ordered` yields in input order, otherwise as results land. The source is closed
// (`return()`) on `break`, on error and on abort, and the mappers' signal aborts. Mappers run
// through the pool's `run`, so slots, counts and statistics stay in the Rust core.

const {describe, validateFunction, validateSignal, validateOptionsObject} = require('../internal/validate');
const {onAbort} = require('../internal/signals');
const {Puller} = require('../internal/pull');

const closedReason = () => new DOMException('The stream was closed', 'AbortError');

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
 * @param {number} concurrency mappers in flight plus results waiting, at most
 */
function createStream(pool, input, mapper, concurrency, ordered, outerSignal) {
  let source;
  const controller = new AbortController();
  const context = {signal: controller.signal};
  // ordered: results by index; unordered: results in landing order.
  const ready = new Map();
  const landed = [];
  let landedHead = 0;
  let index = 0;
  let nextToYield = 0;
  let inFlight = 0;
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
  };

  const take = () => {
    if (ordered) {
      const result = ready.get(nextToYield);
      if (result === undefined) return undefined;
      ready.delete(nextToYield);
      nextToYield++;
      return result;
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
    const result = {ok, value};
    if (ordered) ready.set(i, result);
    else landed.push(result);
    deliver();
    source.pump();
  };

  const launch = value => {
    const i = index++;
    inFlight++;
    pool.run(({signal}) => mapper(value, i, {signal}), context).then(
      v => landedResult(i, true, v),
      e => landedResult(i, false, e),
    );
  };

  const begin = () => {
    if (source !== undefined) return;
    source = new Puller(input, {
      canPull: () => !ended && inFlight + buffered() < concurrency,
      take: launch,
      after: deliver,
      failed: error => {
        // A source that fails after the stream ended (closed, or failed by a mapper) is ignored,
        // as an async generator ignores what happens after it is done.
        if (ended) return;
        failure = error;
        failed = true;
        stop(error);
        deliver();
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

/** Checks a stream's bound: an integer from 1 up (streams read ahead at most this much). */
function validateBound(concurrency, where) {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(
      `Expected \`concurrency\` to be an integer from 1 up for ${where} (a stream's read-ahead must be bounded), got ${describe(concurrency)}`,
    );
  }
}

module.exports = {createStream, readStreamOptions, validateBound};
