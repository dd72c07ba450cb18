import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generateCompose, generateK8s, storeVersions } from '../../../cli/deploy/generate';
import { ROOT } from '../../helpers/processes';

const read = (...p: string[]) => readFileSync(path.join(ROOT, ...p), 'utf8');
const shipped = storeVersions(path.join(ROOT, 'models'));

describe('deploy files generated from the shipped store', () => {
  it('finds the four shipped versions', () => {
    expect(shipped.map((v) => `${v.model}/${v.version}`)).toEqual([
      'digits/1',
      'digits/2',
      'penguins/1',
      'penguins/2',
    ]);
  });

  it('docker-compose.yml is what `modelgate deploy compose` writes', () => {
    const committed = read('docker-compose.yml');
    expect(generateCompose(committed, shipped)).toBe(committed);
  });

  it('deploy/k8s is what `modelgate deploy k8s` writes', () => {
    const { files, kustomization } = generateK8s({
      template: read('deploy', 'k8s', 'model-server.yaml.template'),
      kustomization: read('deploy', 'k8s', 'kustomization.yaml'),
      versions: shipped,
    });
    expect(kustomization).toBe(read('deploy', 'k8s', 'kustomization.yaml'));
    const committed = readdirSync(path.join(ROOT, 'deploy', 'k8s')).filter((f) =>
      /^model-.+-v.+\.yaml$/.test(f),
    );
    expect([...files.keys()].sort()).toEqual(committed.sort());
    for (const [name, text] of files) expect([name, text]).toEqual([name, read('deploy', 'k8s', name)]);
  });

  it('adds a pushed version: its service, dependency, Deployment and HPA', () => {
    const more = [...shipped, { model: 'digits', version: '3' }];
    const compose = generateCompose(read('docker-compose.yml'), more);
    expect(compose).toContain('  model-digits-v3:\n    <<: *model-server');
    expect(compose).toContain('PUBLIC_URL: ${MODELGATE_SCHEME:-http}://model-digits-v3:8505');
    expect(compose).toContain('      model-digits-v3:\n        condition: service_healthy');
    expect(compose).toContain('  postgres:'); // outside the markers, untouched
    const { files, kustomization } = generateK8s({
      template: read('deploy', 'k8s', 'model-server.yaml.template'),
      kustomization: read('deploy', 'k8s', 'kustomization.yaml'),
      versions: more,
    });
    const v3 = files.get('model-digits-v3.yaml')!;
    expect(v3).toContain('kind: HorizontalPodAutoscaler');
    expect(v3).toContain('args: ["model-server", "--model", "digits", "--version", "3"]');
    expect(v3).not.toContain('${');
    expect(kustomization).toContain('  - model-digits-v3.yaml\n');
  });

  it('refuses a file without the generated regions', () => {
    expect(() => generateCompose('services: {}\n', shipped)).toThrow(/no region "# --- model-servers:/);
  });
});
