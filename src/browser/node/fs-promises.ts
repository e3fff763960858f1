// node:fs/promises in the browser build: every function of Node 20's module rejects with needsNode's
// error (all of them, so that code importing one more needs no change here).
import { needsNode } from './needs-node.js';

const stub = (name: string) => async (..._args: unknown[]): Promise<never> => needsNode(`fs.${name}`);

export type FileHandle = never;
export const constants = {};
export const access = stub('access');
export const copyFile = stub('copyFile');
export const cp = stub('cp');
export const open = stub('open');
export const opendir = stub('opendir');
export const rename = stub('rename');
export const truncate = stub('truncate');
export const rm = stub('rm');
export const rmdir = stub('rmdir');
export const mkdir = stub('mkdir');
export const readdir = stub('readdir');
export const readlink = stub('readlink');
export const symlink = stub('symlink');
export const lstat = stub('lstat');
export const stat = stub('stat');
export const statfs = stub('statfs');
export const link = stub('link');
export const unlink = stub('unlink');
export const chmod = stub('chmod');
export const lchmod = stub('lchmod');
export const lchown = stub('lchown');
export const chown = stub('chown');
export const utimes = stub('utimes');
export const lutimes = stub('lutimes');
export const realpath = stub('realpath');
export const mkdtemp = stub('mkdtemp');
export const writeFile = stub('writeFile');
export const appendFile = stub('appendFile');
export const readFile = stub('readFile');
export const watch = stub('watch');
