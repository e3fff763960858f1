// node:readline in the browser build (it reads files line by line).
import { needsNode } from './needs-node.js';

export function createInterface(..._args: unknown[]): never {
  return needsNode('readline.createInterface');
}
