/** Runs competing arms in turns (A B A B ...) instead of all of A then all of B: on a shared, noisy
 * machine a neighbour's burst then lands on both arms rather than skewing one, and the medians of the
 * rounds are compared. Each arm gets one discarded warm-up run first (JIT, connection pools, caches). */
import type { LoadResult } from './load';
import { median } from './stats';

export interface Arm {
  name: string;
  run(durationS: number): Promise<LoadResult>;
}

export interface ArmSummary {
  name: string;
  runs: LoadResult[];
  rps: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  requests: number;
}

export interface InterleaveOptions {
  rounds: number;
  durationS: number;
  warmupS: number;
  log?: (line: string) => void;
}

export async function interleave(arms: Arm[], options: InterleaveOptions): Promise<ArmSummary[]> {
  const log = options.log ?? (() => {});
  const runs = new Map<string, LoadResult[]>(arms.map((a) => [a.name, []]));
  if (options.warmupS > 0) for (const arm of arms) await arm.run(options.warmupS);
  for (let round = 1; round <= options.rounds; round++) {
    for (const arm of arms) {
      const result = await arm.run(options.durationS);
      runs.get(arm.name)!.push(result);
      log(
        `  round ${round} ${arm.name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms, failures ${result.failures}`,
      );
    }
  }
  return arms.map((arm) => summarise(arm.name, runs.get(arm.name)!));
}

export function summarise(name: string, runs: LoadResult[]): ArmSummary {
  return {
    name,
    runs,
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    failures: runs.reduce((s, r) => s + r.failures, 0),
    requests: runs.reduce((s, r) => s + r.requests, 0),
  };
}
