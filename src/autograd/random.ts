// A seedable generator for randn/rand, so tests and training runs repeat exactly (manualSeed).
let state = 0x9e3779b9;

export function manualSeed(seed: number): void {
  state = seed >>> 0 || 0x9e3779b9;
}

/** Uniform in [0, 1) (mulberry32). */
export function randomUniform(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Standard normal (Box–Muller). */
export function randomNormal(): number {
  let u = 0;
  while (u === 0) u = randomUniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * randomUniform());
}
