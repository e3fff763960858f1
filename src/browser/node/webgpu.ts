// The `webgpu` package (Dawn for Node) in the browser build: a page has navigator.gpu, which the
// device looks for first; this stands in so that the bundle carries no Dawn.

export const globals = {};

export function create(_options: string[]): never {
  throw new Error('no navigator.gpu in this page (WebGPU is off or unsupported in this browser), and Dawn is not part of the browser build');
}
