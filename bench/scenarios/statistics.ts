/** The long version of the statistics simulations in tests/unit/tracking/stats-simulation.test.ts:
 * ten times the runs (the quick mode uses the test's counts). CPU only, no processes. */
import type { BenchContext } from '../harness/context';
import type { Section } from '../harness/report';
import { aaFamily, aaPeeking, aaStickyUsers, power } from '../statistics/simulations';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** Two-sided 95% binomial margin of a simulated rate, in points. */
const margin = (rate: number, runs: number) =>
  `±${(196 * Math.sqrt((Math.max(rate, 1 / runs) * (1 - rate)) / runs)).toFixed(1)}`;

export async function statisticsScenario(ctx: BenchContext): Promise<Section[]> {
  const scale = ctx.quick ? 1 : 10;
  const started = Date.now();
  ctx.log('statistics: A/A peeking');
  const aa = aaPeeking({ runs: 1000 * scale, looks: 20, rowsPerLook: 100, p: 0.9, seed: 101 });
  ctx.log('statistics: power');
  const pw = power({
    runs: 200 * scale,
    rowsPerArm: 5000,
    rowsPerLook: 100,
    controlP: 0.92,
    candidateP: 0.95,
    seed: 102,
  });
  ctx.log('statistics: sticky users');
  const sticky = aaStickyUsers({
    runs: 400 * scale,
    looks: 20,
    rowsPerLook: 100,
    usersPerArm: 300,
    seed: 103,
  });
  ctx.log('statistics: three candidates');
  const family = aaFamily({ runs: 600 * scale, candidates: 3, looks: 20, rowsPerLook: 100, seed: 104 });
  const row = (what: string, rate: number, runs: number, goal: string) => [
    what,
    pct(rate),
    margin(rate, runs),
    String(runs),
    goal,
  ];
  return [
    {
      title: 'Experiment statistics: simulated error rates and power',
      setup:
        "Seeded simulations through the report's own judgeFamily (bench/statistics/simulations.ts): A/A at 90% accuracy " +
        'read every 100 labelled rows per arm for 20 looks; 0.95 vs 0.92 read every 100 rows up to 5,000 per arm with error ' +
        'rate and latency in the family; sticky users (300 per arm, accuracy uniform on [0.5, 1], log-normal activity); ' +
        `3 candidates × 3 metrics A/A. ${Math.round((Date.now() - started) / 1000)} s wall time.`,
      headers: ['case', 'rate', '95% margin (points)', 'runs', 'goal'],
      rows: [
        row('A/A, always valid, one look', aa.oneLook, aa.runs, '≤ 5%'),
        row('A/A, always valid, 20 looks', aa.anyLook, aa.runs, '≤ 5%'),
        row('A/A, old z-test, one look', aa.naiveOneLook, aa.runs, '(≈ 5%)'),
        row('A/A, old z-test, 20 looks', aa.naiveAnyLook, aa.runs, '(the defect)'),
        row('power 0.95 vs 0.92 by 5,000/arm', pw.rate, pw.runs, '≥ 80%'),
        row('sticky users A/A, users as units, 20 looks', sticky.perUser, sticky.runs, '≤ 5%'),
        row('sticky users A/A, rows as units, 20 looks', sticky.perRow, sticky.runs, ''),
        row('sticky users A/A, old z-test, one look', sticky.naiveOneLook, sticky.runs, '(the defect)'),
        row('3 candidates × 3 metrics A/A, Holm', family.familyWise, family.runs, '≤ 5%'),
        row('3 candidates × 3 metrics A/A, uncorrected', family.uncorrected, family.runs, ''),
      ],
      goals: [
        {
          text: 'A/A false positives ≤ 5% over 20 looks',
          measured: pct(aa.anyLook),
          met: aa.anyLook <= 0.05,
        },
        { text: 'power ≥ 80% at 5,000 labelled rows per arm', measured: pct(pw.rate), met: pw.rate >= 0.8 },
        { text: 'sticky-user A/A ≤ 5%', measured: pct(sticky.perUser), met: sticky.perUser <= 0.05 },
        { text: 'family-wise A/A ≤ 5%', measured: pct(family.familyWise), met: family.familyWise <= 0.05 },
      ],
      notes: [
        'The always-valid test is conservative at a single look (its price for being readable at every look): the A/A rate ' +
          'at one look sits well below 5%, and detecting 1 point of accuracy takes roughly twice the rows of a fixed-horizon test.',
      ],
    },
  ];
}
