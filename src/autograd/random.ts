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
  dropoutState = seed >>> 0 || DEFAULT_SEED;
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

// Dropout masks are functions of a 32-bit seed (kernels/dropout); each dropout call takes the next
// seed of this stream. Its state is one number, so gradient checkpointing can replay a block's
// seeds when it recomputes the block, and a trainer can set it from (run seed, step) so a resumed
// run drops the same elements.
let dropoutState = DEFAULT_SEED;

/** The next dropout seed (a Weyl sequence through a 32-bit mix: distinct, well spread seeds). */
export function nextDropoutSeed(): number {
  dropoutState = (dropoutState + 0x9e3779b9) >>> 0;
  let x = dropoutState;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function getDropoutState(): number {
  return dropoutState;
}

export function setDropoutState(state: number): void {
  dropoutState = state >>> 0;
}
