'use strict';
// stream(input, mapper, {concurrency, backpressure, ordered, signal}): p-map's `pMapIterable` (an
// async iterable of mapped results, `concurrency` Infinity and `backpressure` = `concurrency` by
// default), its mappers run on a private Pool (so slots, counts and statistics stay in the Rust
// core). The engine is lib/pool/stream.js, shared with Pool#stream.

const {Pool} = require('../pool/pool');
const {createStream, readStreamOptions, readStreamBounds} = require('../pool/stream');

/**
 * An async iterable of `mapper(item, index, {signal})` over `input`: at most `concurrency` mappers
 * running, and at most `backpressure` items read and not yet taken (memory is O(backpressure) when
 * it is finite). Throws a TypeError at once for bad arguments.
 */
function stream(input, mapper, options) {
  const {ordered, signal} = readStreamOptions(input, mapper, options);
  const {concurrency, backpressure} = readStreamBounds(options);
  return createStream(new Pool({concurrency}), input, mapper, concurrency, backpressure, ordered, signal);
}

module.exports = {stream};
