/** Scenario results as Markdown: each scenario returns sections, main.ts writes them between markers
 * in bench/README.md so the hand-written text around the table survives a re-run. */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Goal {
  text: string;
  measured: string;
  /** undefined when the goal could not be measured in this run. */
  met: boolean | undefined;
}

export interface Section {
  title: string;
  /** What was run, in a sentence or two. */
  setup: string;
  headers: string[];
  rows: string[][];
  goals: Goal[];
  notes: string[];
}

export const RESULTS_START = '<!-- bench:results:start -->';
export const RESULTS_END = '<!-- bench:results:end -->';

export function renderTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderSection(section: Section): string {
  const parts = [`### ${section.title}`, '', section.setup, ''];
  if (section.rows.length) parts.push(renderTable(section.headers, section.rows), '');
  if (section.goals.length) {
    parts.push(
      renderTable(
        ['goal', 'measured', 'result'],
        section.goals.map((g) => [
          g.text,
          g.measured,
          g.met === undefined ? 'not judged' : g.met ? 'met' : 'MISSED',
        ]),
      ),
      '',
    );
  }
  for (const note of section.notes) parts.push(`- ${note}`);
  if (section.notes.length) parts.push('');
  return parts.join('\n');
}

export function renderResults(header: string, sections: Section[]): string {
  return [header, '', ...sections.map(renderSection)].join('\n');
}

/** Replaces the text between the markers, or appends a marked block when there is none yet. */
export function writeIntoReadme(file: string, results: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const block = `${RESULTS_START}\n${results}\n${RESULTS_END}`;
  const start = text.indexOf(RESULTS_START);
  const end = text.indexOf(RESULTS_END);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + RESULTS_END.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

export const fmt = {
  rps: (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–'),
  ms: (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–'),
  ratio: (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '–'),
  mb: (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(1) : '–'),
};
