/** What every scenario receives from bench/main.ts: the run mode, timings and where to log. */
import type { ProcessGroup } from './processes';
import type { Section } from './report';

export interface BenchContext {
  quick: boolean;
  group: ProcessGroup;
  /** Seconds per measured run, rounds per arm (A B A B …) and the discarded warm-up per arm. */
  durationS: number;
  rounds: number;
  warmupS: number;
  log(line: string): void;
}

export type Scenario = (ctx: BenchContext) => Promise<Section[]>;
