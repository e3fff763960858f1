// relpo's browser entry, bundled by `npm run build:browser` into dist/browser/relpo.js: the public
// API of the Node entry under the same names. The bundle swaps the Node-only modules (node:fs and
// friends, Dawn, the native tokenizer binding) for the ones in node/ and the pure-JS tokenizer
// (scripts/build-browser.mjs lists the swaps; docs/browser.md says what differs).
export * from '../index.js';
