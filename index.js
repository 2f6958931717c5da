'use strict';
// async-shape: CommonJS entry. `index.mjs` re-exports the same objects for ESM.
const {pLimit, limitFunction} = require('./lib/limit');
const {Pool} = require('./lib/pool');

module.exports = {
  pLimit,
  limitFunction,
  Pool,
  default: pLimit,
};
