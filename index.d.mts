// ESM view of index.d.ts: every named export of it (values and types), with `pLimit` as the
// default export. `export *` keeps this file from drifting from index.d.ts;
// __test__/exports.test.mjs checks that both agree with index.js and index.mjs.
import {pLimit} from './index.js';

export * from './index.js';
export default pLimit;
