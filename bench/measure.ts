// Timing helpers for benchmarks: run a function repeatedly for a fixed wall-clock budget.

export interface Rate {
  opsPerSecond: number;
  iterations: number;
  seconds: number;
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
