// A seedable generator for randn/rand, so tests and training runs repeat exactly (manualSeed).

/** mulberry32: a small, fast 32-bit generator of uniforms in [0, 1), one stream per seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_SEED = 0x9e3779b9;
let uniform = mulberry32(DEFAULT_SEED);

export function manualSeed(seed: number): void {
  uniform = mulberry32(seed >>> 0 || DEFAULT_SEED);
}

/** Uniform in [0, 1) from the global stream. */
export function randomUniform(): number {
  return uniform();
}

/** Standard normal (Box–Muller) from the global stream. */
export function randomNormal(): number {
  let u = 0;
  while (u === 0) u = uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
}
