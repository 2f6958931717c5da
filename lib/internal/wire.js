'use strict';
// The JS↔Rust wire protocol: every numeric code and positional layout that crosses to the addon,
// as the Rust core defines them once (core/src/wire.rs and each room's `wire` module). This is
// the only JS module that reads them from the addon. A room takes its constants once, at load:
//
//   const {FULFILLED, REJECTED} = room('pool');
//
// and its hot paths then pass plain numbers. A name the addon does not define throws at load
// (a typo, or a binary older than the JS), never reads as `undefined`.

const {wire} = require('./native');

const rooms = wire();

/**
 * The constants of one room (`pool`, `combinators`, `bridge`, `eventLoop`, `downstream`), for destructuring.
 * @param {string} name
 * @returns {Readonly<Record<string, number>>}
 */
function room(name) {
  const table = Object.hasOwn(rooms, name) ? rooms[name] : undefined;
  if (table === undefined) throw new Error(`async-shape: the addon has no wire room "${name}" (a stale build?)`);
  return new Proxy(Object.freeze(table), {
    get(target, key) {
      if (typeof key === 'string' && !Object.hasOwn(target, key)) {
        throw new Error(`async-shape: the addon's wire protocol has no ${name}.${key} (a stale build?)`);
      }
      return target[key];
    },
  });
}

/** Every room's table, by room name (for tests and diagnostics). */
function tables() {
  return Object.fromEntries(Object.entries(rooms).map(([name, table]) => [name, {...table}]));
}

module.exports = {room, tables};
