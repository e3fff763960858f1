// @huggingface/hub in the browser build: downloads into the Hugging Face cache need Node's file
// system; a page reads a model's files with urlSource instead.
import { needsNode } from './needs-node.js';

export async function snapshotDownload(..._args: unknown[]): Promise<never> {
  return needsNode('downloading into the Hugging Face cache');
}
