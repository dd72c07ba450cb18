/** Translation between rows of features and the model-server's OIP v2 infer bodies. */
import { AppError } from '../common/errors';
import type { RowPrediction } from './schemas';

export function oipInferBody(rows: readonly (readonly number[])[], width: number, id: string): string {
  const data: number[] = [];
  for (const row of rows) for (const x of row) data.push(x);
  return JSON.stringify({
    id,
    inputs: [{ name: 'input', shape: [rows.length, width], datatype: 'FP32', data }],
  });
}

interface OipOutput {
  name?: unknown;
  shape?: unknown;
  data?: unknown;
}

/** Reads `probabilities` [n,K] and `label` [n] from an OIP v2 answer; class names fall back to the
 * labels from the routing table when the server sent no `label` output. */
export function rowsFromOipResponse(
  body: Buffer,
  rowCount: number,
  labels: readonly string[],
): RowPrediction[] {
  let outputs: OipOutput[];
  try {
    const json = JSON.parse(body.toString('utf8')) as { outputs?: unknown };
    if (!Array.isArray(json.outputs)) throw new Error('no "outputs" array');
    outputs = json.outputs as OipOutput[];
  } catch (err) {
    throw new AppError('upstream_error', `model-server sent an unreadable answer: ${(err as Error).message}`);
  }
  const probs = outputs.find((o) => o.name === 'probabilities') ?? outputs.find((o) => o.name !== 'label');
  const labelOut = outputs.find((o) => o.name === 'label');
  const data = flatNumbers(probs?.data);
  if (!data || rowCount === 0 || data.length % rowCount !== 0) {
    throw new AppError('upstream_error', 'model-server answer has no probabilities matching the rows sent');
  }
  const k = data.length / rowCount;
  const names = labels.length === k ? labels : Array.from({ length: k }, (_, i) => String(i));
  const sentLabels = Array.isArray(labelOut?.data) ? (labelOut.data as unknown[]) : undefined;
  const result: RowPrediction[] = [];
  for (let r = 0; r < rowCount; r++) {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let j = 0; j < k; j++) {
      const p = data[r * k + j]!;
      probabilities[names[j]!] = p;
      if (p > data[r * k + best]!) best = j;
    }
    const sent = sentLabels?.[r];
    result.push({
      prediction: typeof sent === 'string' ? sent : names[best]!,
      probabilities,
      confidence: data[r * k + best]!,
    });
  }
  return result;
}

function flatNumbers(data: unknown): number[] | undefined {
  if (!Array.isArray(data)) return undefined;
  const flat = (data as unknown[]).flat(Number.POSITIVE_INFINITY);
  return flat.every((x) => typeof x === 'number') ? (flat as number[]) : undefined;
}

/** Row predictions from an answer in either protocol (OIP v2 outputs or TF Serving predictions),
 * for shadow comparison and the background prediction log; undefined when unreadable. */
export function predictionsFromAnswer(body: Buffer, labels: readonly string[]): RowPrediction[] | undefined {
  try {
    const json = JSON.parse(body.toString('utf8')) as { outputs?: OipOutput[]; predictions?: unknown[] };
    if (Array.isArray(json.outputs)) {
      const probs = json.outputs.find((o) => o.name === 'probabilities');
      const rows = (probs?.shape as number[] | undefined)?.[0];
      return rows ? rowsFromOipResponse(body, rows, labels) : undefined;
    }
    if (Array.isArray(json.predictions)) return json.predictions.map((p) => tfServingRow(p, labels));
  } catch {
    return undefined;
  }
  return undefined;
}

function tfServingRow(p: unknown, labels: readonly string[]): RowPrediction {
  const obj = (Array.isArray(p) ? { probabilities: p } : p) as { probabilities?: unknown; label?: unknown };
  const xs = flatNumbers(obj.probabilities);
  if (!xs || xs.length === 0) throw new Error('prediction without probabilities');
  const probabilities: Record<string, number> = {};
  let best = 0;
  xs.forEach((x, j) => {
    probabilities[labels[j] ?? String(j)] = x;
    if (x > xs[best]!) best = j;
  });
  return {
    prediction: typeof obj.label === 'string' ? obj.label : (labels[best] ?? String(best)),
    probabilities,
    confidence: xs[best]!,
  };
}
