// `node no-fs-run.js`: feedbackRun (load, train, save, reload: a web page's use) with what a browser
// lacks taken away once the program is loaded: every function of node:fs, node:fs/promises,
// node:path, node:os, node:crypto, node:child_process, node:readline, node:url and node:module
// throws (and is counted), and the globals process, Buffer and setImmediate are gone, so an
// unguarded process.env read throws a ReferenceError. Prints {trapped, run, error, controls} as
// JSON; controls are what the traps caught on purpose (a folder load, an ESM-imported readFile),
// which shows they work.
import { readFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as r from '../../src/index.js';
import { checkpointFiles, feedbackRun, type FeedbackRun } from './feedback-training.js';

const require = createRequire(import.meta.url);
const MODULES = ['fs', 'fs/promises', 'path', 'os', 'crypto', 'child_process', 'readline', 'url', 'module'];
const GLOBALS = ['process', 'Buffer', 'setImmediate', 'clearImmediate'] as const;

const files = await checkpointFiles();
const stdout = process.stdout;
const sync = syncBuiltinESMExports;
const trapped: string[] = [];
const originals: [Record<string, unknown>, string, unknown][] = [];
for (const name of MODULES) {
  const m = require(name) as Record<string, unknown>;
  for (const [key, value] of Object.entries(m)) {
    // Functions, not classes (Node's own code checks instanceof against those), and not the
    // getters of what browsers have too (crypto.getRandomValues).
    if (typeof value !== 'function' || /^[A-Z]/.test(key) || !Object.getOwnPropertyDescriptor(m, key)?.writable) continue;
    originals.push([m, key, value]);
    m[key] = () => {
      trapped.push(`node:${name}.${key}`);
      throw new Error(`node:${name}.${key} was called: a browser has no such function`);
    };
  }
}
const globals = GLOBALS.map((g) => [g, Object.getOwnPropertyDescriptor(globalThis, g)!] as const);
// ESM imports of built-ins (import { readFile } from 'node:fs/promises') see the replacements too.
sync();
for (const [g] of globals) delete (globalThis as Record<string, unknown>)[g];

let run: FeedbackRun | undefined;
let error: string | undefined;
try {
  run = await feedbackRun(files);
} catch (e) {
  error = (e as Error).stack ?? String(e);
}

const controls: string[] = [];
const before = trapped.length;
await (async () => readFile('/etc/hostname'))().catch((e: Error) => controls.push(e.message));
await r.loadPretrainedCausalLM('/no/such/folder').catch((e: Error) => controls.push(e.message));
controls.push(typeof process);
trapped.splice(before);

for (const [g, d] of globals) Object.defineProperty(globalThis, g, d);
for (const [m, key, value] of originals) m[key] = value;
sync();
stdout.write(`${JSON.stringify({ trapped, run, error, controls })}\n`);
