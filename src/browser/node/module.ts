// node:module in the browser build: require() of a native addon needs Node.
import { needsNode } from './needs-node.js';

export function createRequire(_from: string | URL): (id: string) => never {
  return (id: string) => needsNode(`require('${id}')`);
}
