// node:fs/promises in the browser build: every function rejects with needsNode's error.
import { needsNode } from './needs-node.js';

const stub = (name: string) => async (..._args: unknown[]): Promise<never> => needsNode(`fs.${name}`);

export type FileHandle = never;
export const access = stub('access');
export const appendFile = stub('appendFile');
export const lstat = stub('lstat');
export const mkdir = stub('mkdir');
export const open = stub('open');
export const readFile = stub('readFile');
export const readdir = stub('readdir');
export const readlink = stub('readlink');
export const realpath = stub('realpath');
export const rename = stub('rename');
export const rm = stub('rm');
export const stat = stub('stat');
export const symlink = stub('symlink');
export const unlink = stub('unlink');
export const writeFile = stub('writeFile');
