// node:os in the browser build: there is no home folder (nor a Hugging Face cache in it).
import { needsNode } from './needs-node.js';

export function homedir(): never {
  return needsNode('os.homedir (the Hugging Face cache)');
}
