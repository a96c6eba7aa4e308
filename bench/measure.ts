// Timing helpers for benchmarks: run a function repeatedly for a fixed wall-clock budget.

export interface Rate {
  opsPerSecond: number;
  iterations: number;
  seconds: number;
  /** Operations per second of this process's CPU time (interleaved only): what a neighbour's load changes least. */
  opsPerCpuSecond?: number;
}

/** Calls `fn` in batches until `budgetMs` has passed (after a short warm-up) and reports the rate. */
export function measure(fn: () => unknown, budgetMs = 1000): Rate {
  const warmUntil = performance.now() + Math.min(200, budgetMs / 4);
  while (performance.now() < warmUntil) fn();
  let iterations = 0;
  let batch = 1;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    elapsed = performance.now() - started;
    if (elapsed < budgetMs / 10) batch *= 2;
  }
  const seconds = elapsed / 1000;
  return { opsPerSecond: round(iterations / seconds), iterations, seconds: round(seconds, 3) };
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Measures several functions on the same data in alternating slices (`rounds` × `sliceMs` each, after a
 * warm-up of every one), so that a neighbour's burst on a shared machine weighs on all of them alike.
 * Returns each one's rate over its slices together, by wall-clock and by this process's CPU time: on a
 * loaded machine the process is descheduled at random within a slice, which the CPU time leaves out, so
 * ratios are taken from `opsPerCpuSecond`.
 */
export function interleaved<K extends string>(
  fns: Record<K, () => unknown>,
  { rounds = 5, sliceMs = 120 }: { rounds?: number; sliceMs?: number } = {},
): Record<K, Rate> {
  const keys = Object.keys(fns) as K[];
  const totals = {} as Record<K, { iterations: number; ms: number; cpuMicros: number }>;
  for (const key of keys) {
    const fn = fns[key];
    const warmUntil = performance.now() + Math.min(150, sliceMs);
    while (performance.now() < warmUntil) fn();
    totals[key] = { iterations: 0, ms: 0, cpuMicros: 0 };
  }
  for (let round = 0; round < rounds; round++) {
    // Alternate the order too: the first slice of a round sometimes pays for the previous one's garbage.
    const order = round % 2 === 0 ? keys : [...keys].reverse();
    for (const key of order) {
      const fn = fns[key];
      let iterations = 0;
      let batch = 1;
      const cpu = process.cpuUsage();
      const started = performance.now();
      let elapsed = 0;
      while (elapsed < sliceMs) {
        for (let i = 0; i < batch; i++) fn();
        iterations += batch;
        elapsed = performance.now() - started;
        if (elapsed < sliceMs / 10) batch *= 2;
      }
      const used = process.cpuUsage(cpu);
      totals[key].iterations += iterations;
      totals[key].ms += elapsed;
      totals[key].cpuMicros += used.user + used.system;
    }
  }
  const rates = {} as Record<K, Rate>;
  for (const key of keys) {
    const { iterations, ms, cpuMicros } = totals[key];
    rates[key] = {
      opsPerSecond: round(iterations / (ms / 1000)),
      opsPerCpuSecond: round(iterations / (Math.max(cpuMicros, 1) / 1e6)),
      iterations,
      seconds: round(ms / 1000, 3),
    };
  }
  return rates;
}
