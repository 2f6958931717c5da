'use strict';
// Loads the Rust addon built by scripts/build-if-needed.js.
const path = require('node:path');

let binding;
try {
  binding = require(path.join(__dirname, '..', 'async-shape.node'));
} catch (error) {
  const wrapped = new Error(
    `async-shape: the native addon could not be loaded (${error.message}). ` +
      'Run `npm install` (or `node scripts/build-if-needed.js`) in the package folder to build it.',
  );
  wrapped.cause = error;
  throw wrapped;
}

module.exports = binding;
