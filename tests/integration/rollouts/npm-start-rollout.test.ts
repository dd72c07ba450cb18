/** A rollout of a shipped version under `npm start` (`modelgate up` with its defaults: a fresh data
 * folder, the admin token from the banner, SQLite evidence store, the registry's own tick and look
 * grid), started and followed with the CLI as the README says, driven by seeded traffic with feedback
 * from the shipped digits samples, to a final state the evidence decides. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/processes';
import { expectOutcomeOfEvidence, shortRolloutArgs } from '../../helpers/rollout-outcome';
import { call, driveTraffic, FINAL_STATES } from '../../helpers/rollout-traffic';
import { startUp, type UpProcess, until } from '../../helpers/up-process';

jest.setTimeout(480_000);

let dataDir: string;
let up: UpProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'up-rollout-'));
});

afterAll(async () => {
  up?.kill();
  await rm(dataDir, { recursive: true, force: true });
});

it('rolls digits v2 out under `modelgate up` to promoted or rolled_back, with the policy the evidence calls for', async () => {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.ADMIN_TOKEN;
  delete env.MODEL_STORE;
  delete env.DATABASE_URL;
  up = startUp(['--data', dataDir, '--gateway-port', '0', '--registry-port', '0'], env);
  const urls = await up.banner(120_000);
  await until(
    'digits v1 and v2 live in the gateway',
    async () => {
      const info = (await call(`${urls.gateway}/model/info`, 'GET')).body;
      const digits = info.models?.find((m: any) => m.name === 'digits');
      return digits?.versions.every((v: any) => v.live_instances === 1) ?? false;
    },
    90_000,
  );
  const before = (await call(`${urls.registry}/models/digits/policy`, 'GET')).body;
  const cliEnv = { REGISTRY_URL: urls.registry, ADMIN_TOKEN: urls.token };
  const started = await runCli(shortRolloutArgs('digits', '2'), cliEnv);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  expect(started.stdout).toMatch(/rollout of v2 against v1 \(steps\) — RUNNING/);
  const t0 = Date.now();
  const traffic = await driveTraffic({
    gatewayUrl: urls.gateway,
    seed: 12,
    concurrency: 4,
    batch: 10,
    until: async () =>
      FINAL_STATES.includes(
        (await call(`${urls.registry}/models/digits/rollouts/current`, 'GET')).body.state,
      ),
    timeoutMs: 360_000,
  });
  expect(traffic.stoppedBy).toBe('condition');
  const outcome = await expectOutcomeOfEvidence({
    registryUrl: urls.registry,
    model: 'digits',
    candidate: '2',
    before,
  });
  process.stdout.write(
    `npm start rollout: ${outcome.state} after ${((Date.now() - t0) / 1000).toFixed(0)} s, ${traffic.requests} requests of 10 rows: ${outcome.why}\n`,
  );
  const status = await runCli(['rollout', 'status', 'digits'], cliEnv);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(outcome.state.toUpperCase().replace('_', ' '));
  expect(status.stdout).toContain(`outcome   ${outcome.why}`);
  up.proc.kill('SIGTERM');
  expect(await up.exited).toBe(0);
});
