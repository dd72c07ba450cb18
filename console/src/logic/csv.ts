/** CSV export of table rows (RFC 4180: fields with a comma, quote or line break are quoted and their
 * quotes doubled). A field starting with = + - @ is prefixed with ' so a spreadsheet opening the
 * export never evaluates it as a formula. */

export type CsvValue = string | number | boolean | null | undefined;

function field(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T extends object>(columns: readonly (keyof T & string)[], rows: readonly T[]): string {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c] as CsvValue)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
