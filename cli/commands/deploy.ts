/** `modelgate deploy compose|k8s`: regenerate the per-version parts of docker-compose.yml or
 * deploy/k8s from the versions in a store (the shipped models/ by default). */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseHttpUrl } from '../../common/config';
import { packageInfo } from '../../common/package-info';
import { generateCompose, generateK8s, type StoreVersion, storeVersions } from '../deploy/generate';

const root = () => packageInfo(__dirname).root;

interface Source {
  store: string;
  registry?: string;
}

/** The versions to serve: those a running registry lists (`--registry URL`), else a store folder's. */
async function versionsOf(options: Source): Promise<StoreVersion[]> {
  if (!options.registry) return storeVersions(path.resolve(options.store));
  const base = parseHttpUrl('--registry', options.registry);
  const res = await fetch(`${base}/models`).catch((err: Error) => {
    throw new Error(`cannot reach the registry at ${base}: ${err.message}`);
  });
  if (!res.ok) throw new Error(`the registry at ${base} answered ${res.status} to GET /models`);
  const body = (await res.json()) as { models: { name: string; versions: string[] }[] };
  const byName = new Intl.Collator('en', { numeric: true }).compare;
  return body.models
    .map((m) => m.name)
    .sort(byName)
    .flatMap((name) =>
      [...body.models.find((m) => m.name === name)!.versions]
        .sort(byName)
        .map((version) => ({ model: name, version })),
    );
}

export function registerDeployCommands(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('generate the per-version services (compose) or Deployments with HPAs (k8s) from a store');
  deploy
    .command('compose')
    .description('rewrite the model-server services of docker-compose.yml, one per version in the store')
    .option('--store <dir>', 'model store whose versions to serve', path.join(root(), 'models'))
    .option('--registry <url>', 'serve the versions this registry lists instead (e.g. after a push)')
    .option('--file <file>', 'compose file to update', path.join(root(), 'docker-compose.yml'))
    .action(async (options: Source & { file: string }) => {
      const versions = await versionsOf(options);
      await writeFile(options.file, generateCompose(await readFile(options.file, 'utf8'), versions));
      process.stdout.write(`${options.file}: ${versions.length} model-server services\n`);
    });
  deploy
    .command('k8s')
    .description('write deploy/k8s/model-<m>-v<v>.yaml (Deployment, Service, HPA) per version and list them')
    .option('--store <dir>', 'model store whose versions to serve', path.join(root(), 'models'))
    .option('--registry <url>', 'serve the versions this registry lists instead (e.g. after a push)')
    .option('--dir <dir>', 'kustomize folder', path.join(root(), 'deploy', 'k8s'))
    .action(async (options: Source & { dir: string }) => {
      const versions = await versionsOf(options);
      const kustomizationFile = path.join(options.dir, 'kustomization.yaml');
      const { files, kustomization } = generateK8s({
        template: await readFile(path.join(options.dir, 'model-server.yaml.template'), 'utf8'),
        kustomization: await readFile(kustomizationFile, 'utf8'),
        versions,
      });
      for (const [name, text] of files) await writeFile(path.join(options.dir, name), text);
      // Files of versions no longer in the store would only confuse: the list no longer names them.
      for (const name of await readdir(options.dir)) {
        if (/^model-.+-v.+\.yaml$/.test(name) && !files.has(name)) await rm(path.join(options.dir, name));
      }
      await writeFile(kustomizationFile, kustomization);
      process.stdout.write(`${options.dir}: ${files.size} model versions\n`);
    });
}
