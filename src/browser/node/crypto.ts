// node:crypto in the browser build.
import { needsNode } from './needs-node.js';

export function createHash(_algorithm: string): never {
  return needsNode('crypto.createHash');
}

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
