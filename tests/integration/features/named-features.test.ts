/** Named features through real processes: a registry over the shipped store, model-servers for
 * penguins v1 and v2 and digits v1, and a gateway. Named bodies must give exactly the answers of
 * the positional rows they encode to, on the fast path and through Express, single and batch. */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Service } from '../../helpers/processes';
import { createTestStore, SHIPPED_STORE, type TestStore } from '../../helpers/test-store';
import { call, startGateway, startModelServer, startRegistry, waitForInfo } from '../gateway/stack';
import { penguinNamed } from './penguins';

jest.setTimeout(180_000);

const sample = JSON.parse(
  readFileSync(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'),
) as number[][];
const digits = JSON.parse(
  readFileSync(path.join(SHIPPED_STORE, 'digits', 'sample.json'), 'utf8'),
) as number[][];

/** A POST without Content-Length (chunked): the fast path leaves it to the Express route. */
function postChunked(url: string, body: unknown, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.write(JSON.stringify(body));
    req.end();
  });
}

const STARTED = ['penguins/1', 'penguins/2', 'digits/1'];

interface Info {
  revision?: number | null;
  models?: { name: string; versions: { version: string; live_instances: number }[] }[];
}

/** True once the gateway routes to every version this file started. Before its first routing table
 * the gateway's /model/info lists no models at all, so a check that every *listed* version is live
 * holds vacuously then; the first prediction got 503 not_ready ("no routing table yet") on a loaded
 * machine, where the gateway's first fetch from the registry comes late. */
function servesEveryStartedVersion(info: Info): boolean {
  const live = new Set<string>();
  for (const m of info.models ?? [])
    for (const v of m.versions) if (v.live_instances > 0) live.add(`${m.name}/${v.version}`);
  return STARTED.every((key) => live.has(key));
}

let store: TestStore;
let registry: Service;
const servers: Service[] = [];
let gateway: Service;

beforeAll(async () => {
  store = await createTestStore();
  registry = await startRegistry(store);
  for (const key of STARTED) {
    const [m, v] = key.split('/') as [string, string];
    servers.push(await startModelServer(store, registry.url, m, v));
  }
  gateway = await startGateway(registry.url);
  await waitForInfo(gateway.url, servesEveryStartedVersion);
});

afterAll(async () => {
  await gateway?.stop();
  for (const s of servers) await s.stop();
  await registry?.stop();
  await store?.cleanup();
});

describe.each(['1', '2'])('penguins version %s', (version) => {
  const pin = { 'x-model-version': version };

  it('answers a batch of every sample row by name exactly as by position', async () => {
    const positional = await call(
      `${gateway.url}/predict/batch`,
      'POST',
      { model: 'penguins', instances: sample },
      pin,
    );
    const named = await call(
      `${gateway.url}/predict/batch`,
      'POST',
      { model: 'penguins', instances: sample.map(penguinNamed) },
      pin,
    );
    // The error, if any, is part of the comparison, so that a failure says why.
    expect([positional.status, positional.body.error]).toEqual([200, undefined]);
    expect([named.status, named.body.error]).toEqual([200, undefined]);
    const strip = (b: any) => b.predictions.map((p: any) => ({ ...p, request_id: undefined }));
    expect(strip(named.body)).toEqual(strip(positional.body));
    expect(named.body.predictions).toHaveLength(sample.length);
  });

  it('answers single named rows as positional ones, on the fast path and through Express', async () => {
    for (const row of sample.slice(0, 10)) {
      const positional = await call(
        `${gateway.url}/predict`,
        'POST',
        { model: 'penguins', features: row },
        pin,
      );
      const fast = await call(
        `${gateway.url}/predict`,
        'POST',
        { model: 'penguins', features: penguinNamed(row) },
        pin,
      );
      const express = await postChunked(
        `${gateway.url}/predict`,
        { model: 'penguins', features: penguinNamed(row) },
        pin,
      );
      for (const answer of [fast, express]) {
        expect(answer.status).toBe(200);
        expect(answer.body.probabilities).toEqual(positional.body.probabilities);
        expect(answer.body.version).toBe(version);
      }
    }
  });
});

describe('bad named input', () => {
  const good = penguinNamed(sample[0]!);
  it.each([
    ['an unknown feature', { ...good, beak: 1 }, /unknown feature "beak"/, 'unknown'],
    ['a missing feature', { ...good, sex: undefined }, /feature "sex" is missing/, 'missing'],
    [
      'an island outside the vocabulary',
      { ...good, island: 'biscoe' },
      /"island" is "biscoe", not in its vocabulary/,
      'out_of_vocabulary',
    ],
    [
      'a mass in kilograms',
      { ...good, body_mass_g: 3.75 },
      /"body_mass_g" is 3.75, outside its allowed range/,
      'out_of_range',
    ],
    [
      'a string measurement',
      { ...good, bill_length_mm: '39' },
      /"bill_length_mm" must be a finite number/,
      'wrong_type',
    ],
    ['a boolean category', { ...good, island: true }, /"island" must be one of/, 'wrong_type'],
  ])('%s gets a 400 naming the feature, on both paths', async (_name, features, message, reason) => {
    for (const send of [
      (b: unknown) => call(`${gateway.url}/predict`, 'POST', b),
      (b: unknown) => postChunked(`${gateway.url}/predict`, b),
    ]) {
      const res = await send({ model: 'penguins', features });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details[0].reason).toBe(reason);
    }
  });

  it('names the batch row at fault', async () => {
    const res = await call(`${gateway.url}/predict/batch`, 'POST', {
      model: 'penguins',
      instances: [good, { ...good, island: 'Atlantis' }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^row 1: feature "island" is "Atlantis"/);
    expect(res.body.error.details[0]).toMatchObject({ row: 1, feature: 'island' });
  });

  it('refuses a features value that is neither an array nor an object, and an empty body', async () => {
    const res = await call(`${gateway.url}/predict`, 'POST', {
      model: 'penguins',
      features: 'island=Biscoe',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/array of numbers \(positional\) or an object of named features/);
    const none = await call(`${gateway.url}/predict`, 'POST', { model: 'penguins' });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/send "features"/);
  });

  it('refuses an entity key the spec does not declare', async () => {
    const res = await call(`${gateway.url}/predict`, 'POST', {
      model: 'penguins',
      entity: { bird_id: 'p-1' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/"entity" must name exactly the key "penguin_id", got "bird_id"/);
  });
});

it('waits for a routing table naming the started versions, not for an empty model list', () => {
  // What /model/info answers before the gateway's first routing table.
  expect(servesEveryStartedVersion({ revision: null, models: [] })).toBe(false);
  const version = (v: string, live: number) => ({ version: v, live_instances: live });
  const info = (digitsLive: number) => ({
    models: [
      { name: 'digits', versions: [version('1', digitsLive), version('2', 0)] },
      { name: 'penguins', versions: [version('1', 1), version('2', 1)] },
    ],
  });
  expect(servesEveryStartedVersion(info(0))).toBe(false);
  expect(servesEveryStartedVersion(info(1))).toBe(true);
});

it('serves digits by its named pixels vector, and positional rows still work', async () => {
  const row = digits[0]!;
  const positional = await call(
    `${gateway.url}/predict`,
    'POST',
    { model: 'digits', features: row },
    { 'x-model-version': '1' },
  );
  const named = await call(
    `${gateway.url}/predict`,
    'POST',
    { model: 'digits', features: { pixels: row } },
    { 'x-model-version': '1' },
  );
  expect(positional.status).toBe(200);
  expect(named.body.probabilities).toEqual(positional.body.probabilities);
  const wrong = await call(
    `${gateway.url}/predict`,
    'POST',
    { model: 'digits', features: { pixels: row.slice(1) } },
    { 'x-model-version': '1' },
  );
  expect(wrong.status).toBe(400);
  expect(wrong.body.error.message).toMatch(/"pixels" must be an array of 784 numbers, got 783 values/);
});
