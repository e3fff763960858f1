// node:fs in the browser build: every function throws needsNode's error, so that the bundle loads
// in a page though the trainer and the checkpoint writers import node:fs.
import { needsNode } from './needs-node.js';

const stub = (name: string) => (..._args: unknown[]): never => needsNode(`fs.${name}`);

export const appendFileSync = stub('appendFileSync');
export const closeSync = stub('closeSync');
export const copyFileSync = stub('copyFileSync');
export const createReadStream = stub('createReadStream');
export const existsSync = stub('existsSync');
export const mkdirSync = stub('mkdirSync');
export const openSync = stub('openSync');
export const readFileSync = stub('readFileSync');
export const readdirSync = stub('readdirSync');
export const rmSync = stub('rmSync');
export const statSync = stub('statSync');
export const unlinkSync = stub('unlinkSync');
export const writeFileSync = stub('writeFileSync');
export const writeSync = stub('writeSync');
