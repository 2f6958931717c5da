'use strict';
// DroppedError: thrown by a task (or handed to `drop()`) to say "the downstream refused me".
// An adaptive pool counts a dropped task as congestion, never as a success; stats count it apart.

class DroppedError extends Error {
  constructor(message = 'The task was dropped', options) {
    // Error would throw "Cannot convert a Symbol value to a string", naming nothing.
    if (typeof message === 'symbol') {
      throw new TypeError(`Expected \`message\` to be a string, got \`${String(message)}\` (symbol)`);
    }
    super(message, options);
    this.name = 'DroppedError';
    this.code = 'ASYNC_SHAPE_DROPPED';
  }
}

const isDropped = value => value instanceof DroppedError;

module.exports = {DroppedError, isDropped};
