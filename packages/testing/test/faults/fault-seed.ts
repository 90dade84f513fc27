/**
 * The seed of a fault test's random schedule: FAULT_SEED replays a run (every test prints the
 * seed it used), otherwise a fresh one is drawn. `seededRandom` is mulberry32, small and good
 * enough for schedules and garbage bytes; the same seed gives the same sequence.
 */
export function faultSeed(): number {
  const fromEnvironment = process.env['FAULT_SEED'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    const seed = Number(fromEnvironment);
    if (!Number.isInteger(seed))
      throw new Error(`FAULT_SEED must be an integer: ${fromEnvironment}`);
    return seed >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** A generator of floats in [0, 1) from `seed` (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An integer in [min, max] drawn from `random`. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
