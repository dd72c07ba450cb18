/** How every operator command prints: aligned tables for people, `--json` for scripts, and failures
 * as one line on stderr that says what to do, with exit code 1. */

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  align?: 'left' | 'right';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(String(c.value(row) ?? '-'))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

export interface Output {
  json: boolean;
  /** A table, or with --json the rows themselves (or `jsonValue` when given). */
  table<T>(rows: readonly T[], columns: readonly Column<T>[], jsonValue?: unknown): void;
  /** A line for people; nothing with --json, where `value` is printed instead. */
  result(text: string, value: unknown): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout): Output {
  const print = (text: string) => stdout.write(`${text}\n`);
  return {
    json,
    table(rows, columns, jsonValue) {
      if (json) print(JSON.stringify(jsonValue ?? rows, null, 2));
      else print(rows.length ? renderTable(rows, columns) : '(none)');
    },
    result(text, value) {
      print(json ? JSON.stringify(value, null, 2) : text);
    },
  };
}

/** An error the user can act on; its message is the whole line printed. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Wraps a command action: any failure becomes `modelgate: <message>` on stderr and exit code 1. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`modelgate: ${oneLine(message)}\n`);
      process.exitCode = 1;
    }
  };
}
