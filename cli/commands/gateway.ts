/** `modelgate gateway` (the service) and `modelgate predict M --json FILE` (a prediction through it). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseHttpUrl } from '../../common/config';
import { runGateway } from '../../gateway/main';

interface PredictOptions {
  json: string;
  version?: string;
  label?: string;
  user?: string;
  gateway: string;
  apiKey?: string;
}

/** Accepts {"features": [...]}, {"instances": [[...], ...]}, one row [...] or rows [[...], ...]. */
export function predictPayload(model: string, input: unknown, user?: string) {
  const extra = { model, ...(user === undefined ? {} : { user_id: user }) };
  if (Array.isArray(input)) {
    return Array.isArray(input[0])
      ? { path: '/predict/batch', body: { instances: input, ...extra } }
      : { path: '/predict', body: { features: input, ...extra } };
  }
  if (typeof input === 'object' && input !== null) {
    const obj = input as Record<string, unknown>;
    if (Array.isArray(obj.instances)) return { path: '/predict/batch', body: { ...obj, ...extra } };
    if (Array.isArray(obj.features)) return { path: '/predict', body: { ...obj, ...extra } };
  }
  throw new Error(
    'the JSON file must hold {"features": [...]}, {"instances": [[...]]}, a row or a list of rows',
  );
}

export function registerGatewayCommands(program: Command): void {
  program
    .command('gateway')
    .description('run the REST gateway (one service, as a container runs it)')
    .addHelpText(
      'after',
      '\nEnvironment: PORT (8000), HOST, REGISTRY_URL (http://127.0.0.1:8100), API_KEYS, CORS_ORIGINS,\n' +
        'DEFAULT_MODEL, MAX_BATCH_ROWS (1024), RATE_LIMIT_RPS, DATABASE_URL (sqlite:./data/modelgate.db), BREAKER_*,\n' +
        'SHADOW_MAX_CONCURRENCY, ROUTES_WAIT_S (20), BODY_LIMIT, LOG_LEVEL, LOG_FORMAT.\n' +
        'Every variable is described in the README, section Configuration.',
    )
    .action(() => runGateway());

  program
    .command('predict')
    .description('send a prediction through the gateway and print the answer')
    .argument('<model>', 'model name')
    .requiredOption(
      '--json <file>',
      'JSON file with {"features": [...]} or {"instances": [[...]]} ("-" for stdin)',
    )
    .option('--version <v>', 'pin a version (X-Model-Version)')
    .option('--label <l>', 'use the version behind a label (X-Model-Label)')
    .option('--user <id>', 'sticky user id')
    .option('--gateway <url>', 'gateway URL', process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000')
    .option('--api-key <key>', 'API key (default $API_KEY)', process.env.API_KEY)
    .action(async (model: string, options: PredictOptions) => {
      const base = parseHttpUrl('--gateway (or GATEWAY_URL)', options.gateway);
      const text = options.json === '-' ? await readStdin() : await readFile(options.json, 'utf8');
      let input: unknown;
      try {
        input = JSON.parse(text);
      } catch (err) {
        throw new Error(`${options.json} is not valid JSON: ${(err as Error).message}`);
      }
      const { path, body } = predictPayload(model, input, options.user);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (options.version) headers['x-model-version'] = options.version;
      if (options.label) headers['x-model-label'] = options.label;
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      const url = `${base}${path}`;
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
      } catch (err) {
        throw new Error(`cannot reach the gateway at ${options.gateway}: ${(err as Error).message}`);
      }
      const answer = await res.text();
      if (!res.ok) {
        let message = answer;
        try {
          const json = JSON.parse(answer) as { error?: { message?: string } };
          message = json.error?.message ?? answer;
        } catch {
          // not JSON: print as is
        }
        throw new Error(`gateway answered ${res.status}: ${message}`);
      }
      process.stdout.write(`${JSON.stringify(JSON.parse(answer), null, 2)}\n`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
