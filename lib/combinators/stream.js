'use strict';
// stream(input, mapper, {concurrency, ordered, signal}): an async iterable of mapped results with
// backpressure and O(concurrency) memory, its mappers run on a private Pool (so slots, counts and
// statistics stay in the Rust core). The engine is lib/pool/stream.js, shared with Pool#stream.

const {Pool} = require('../pool/pool');
const {createStream, readStreamOptions, validateBound} = require('../pool/stream');

/**
 * An async iterable of `mapper(item, index, {signal})` over `input`, at most `concurrency` in
 * flight and read ahead. Throws a TypeError at once for bad arguments.
 */
function stream(input, mapper, options) {
  const {ordered, signal} = readStreamOptions(input, mapper, options);
  const {concurrency} = options ?? {};
  validateBound(concurrency, 'stream()');
  return createStream(new Pool({concurrency}), input, mapper, concurrency, ordered, signal);
}

module.exports = {stream};
