/** Validates deploy/k8s offline: every object against the Kubernetes OpenAPI schemas (kubernetes-models),
 * then the references between objects that a schema cannot see: Service selectors, probe ports and
 * paths, scrape annotations, HPA targets, the store volume, the registry's single writer. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IPodTemplateSpec } from 'kubernetes-models/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { loadGatewayConfig } from '../../../gateway/config';
import { loadConfig as loadModelServerConfig } from '../../../model-server/config';
import { loadConfig as loadRegistryConfig } from '../../../registry/config';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const K8S = path.join(ROOT, 'deploy', 'k8s');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below
  spec?: any;
  data?: Record<string, string>;
  file: string;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
};

function load(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null)
    .map((o) => ({ ...o, file: path.relative(ROOT, file) }));
}

const kustomization = parse(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
  images: { name: string }[];
};
const base = kustomization.resources.flatMap((r) => load(path.join(K8S, r)));
const optional = readdirSync(path.join(K8S, 'optional')).flatMap((f) => load(path.join(K8S, 'optional', f)));
const all = [...base, ...optional];

const byKind = (kind: string) => base.filter((o) => o.kind === kind);
const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
const podOf = (w: K8sObject) => w.spec.template as IPodTemplateSpec;
const containersOf = (w: K8sObject) => podOf(w).spec!.containers as IContainer[];
const initContainersOf = (w: K8sObject) => (podOf(w).spec!.initContainers ?? []) as IContainer[];
const component = (w: K8sObject) => w.metadata.labels?.['app.kubernetes.io/component'];
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The health endpoints each service really serves (DESIGN.md, Endpoints). */
const HEALTH: Record<string, { liveness: string; readiness: string }> = {
  gateway: { liveness: '/health', readiness: '/ready' },
  registry: { liveness: '/health', readiness: '/health' },
  'model-server': { liveness: '/v2/health/live', readiness: '/v2/health/ready' },
};

/** A container's environment as the kubelet builds it: envFrom ConfigMaps, then env entries with
 * ConfigMap and Secret references and the pod IP resolved, and $(VAR) expanded. */
function containerEnv(c: IContainer): Record<string, string> {
  const configMaps = new Map(byKind('ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) Object.assign(env, configMaps.get(from.configMapRef!.name!)!);
  for (const e of c.env ?? []) {
    const ref = e.valueFrom;
    if (ref?.configMapKeyRef)
      env[e.name] = configMaps.get(ref.configMapKeyRef.name!)![ref.configMapKeyRef.key]!;
    else if (ref?.secretKeyRef)
      env[e.name] =
        ref.secretKeyRef.key === 'database-url'
          ? 'postgres://modelgate:secret@db.example.internal:5432/modelgate'
          : `secret-${ref.secretKeyRef.key}`;
    else if (ref?.fieldRef) env[e.name] = '10.0.0.7';
    else env[e.name] = (e.value ?? '').replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => env[name] ?? '');
  }
  return env;
}

function containerPort(c: IContainer, port: number | string): number {
  const found = (c.ports ?? []).find((p) => p.name === port || p.containerPort === port);
  if (!found) throw new Error(`container ${c.name} has no port ${port}`);
  return found.containerPort;
}

describe('deploy/k8s manifests', () => {
  it('lists every manifest file of the folder in kustomization.yaml', () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('holds objects that all pass the Kubernetes schema validation', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const o of all) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect({ file: o.file, kind: `${o.apiVersion}/${o.kind}`, known: Model !== undefined }).toMatchObject({
        known: true,
      });
      const { file: _file, ...manifest } = o;
      expect(() => new Model!(manifest as never).validate()).not.toThrow();
    }
  });

  it('rejects a broken object, so the validation above has teeth', () => {
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replicas: 'two' },
    };
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it('commits no Secret: credentials come from a Secret created out of band', () => {
    expect(all.filter((o) => o.kind === 'Secret')).toEqual([]);
    const refs = workloads.flatMap((w) =>
      containersOf(w).flatMap((c) => (c.env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? [])),
    );
    expect(new Set(refs)).toEqual(new Set(['modelgate-secrets']));
  });

  it('runs the one modelgate image everywhere, with the service chosen by args', () => {
    expect(kustomization.images.map((i) => i.name)).toEqual(['modelgate']);
    for (const w of workloads) {
      for (const c of [...containersOf(w), ...initContainersOf(w)]) expect(c.image).toBe('modelgate');
      expect(containersOf(w)[0]!.args![0]).toBe(component(w));
    }
  });

  it('has a Deployment, Service and HPA for every model version compose serves', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const composeVersions = Object.entries(compose.services)
      .filter(([, s]) => s.command?.[0] === 'model-server')
      .map(([name]) => name)
      .sort();
    const deployments = byKind('Deployment').filter((d) => component(d) === 'model-server');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(composeVersions);
    for (const d of deployments) {
      const args = containersOf(d)[0]!.args!;
      const model = args[args.indexOf('--model') + 1];
      const version = args[args.indexOf('--version') + 1];
      expect(d.metadata.name).toBe(`model-${model}-v${version}`);
      expect(byKind('Service').map((s) => s.metadata.name)).toContain(d.metadata.name);
      expect(byKind('HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name)).toContain(
        d.metadata.name,
      );
    }
  });

  it('selects pods with every Service and routes to a named container port', () => {
    for (const svc of byKind('Service')) {
      const targets = workloads.filter((w) => matches(svc.spec.selector, podOf(w).metadata?.labels));
      expect({ service: svc.metadata.name, workloads: targets.length }).toEqual({
        service: svc.metadata.name,
        workloads: 1,
      });
      for (const port of svc.spec.ports)
        expect(() => containerPort(containersOf(targets[0]!)[0]!, port.targetPort)).not.toThrow();
    }
  });

  it('selects its own pods with every workload', () => {
    for (const w of workloads)
      expect(matches(w.spec.selector.matchLabels, podOf(w).metadata?.labels)).toBe(true);
  });

  it('probes the real health endpoints on the ports the services listen on', () => {
    for (const w of workloads) {
      const c = containersOf(w)[0]!;
      const expected = HEALTH[component(w)!]!;
      const listen = Number(c.env!.find((e) => e.name === 'PORT')!.value);
      expect(c.livenessProbe?.httpGet?.path).toBe(expected.liveness);
      expect(c.readinessProbe?.httpGet?.path).toBe(expected.readiness);
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(
        (p) => p !== undefined,
      )) {
        expect(containerPort(c, probe!.httpGet!.port as string | number)).toBe(listen);
      }
      expect(c.env!.find((e) => e.name === 'HOST')!.value).toBe('0.0.0.0');
    }
  });

  it('annotates every pod for Prometheus at /metrics on the listening port', () => {
    for (const w of workloads) {
      const annotations = podOf(w).metadata?.annotations ?? {};
      const c = containersOf(w)[0]!;
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      expect(containerPort(c, Number(annotations['prometheus.io/port']))).toBe(
        Number(c.env!.find((e) => e.name === 'PORT')!.value),
      );
      // Scrape configs map this label to the job names gateway, registry and model-server.
      expect(Object.keys(HEALTH)).toContain(podOf(w).metadata?.labels?.['app.kubernetes.io/component']);
    }
  });

  it('gives every service an environment its own config schema accepts', () => {
    for (const w of workloads) {
      const c = containersOf(w)[0]!;
      const env = containerEnv(c);
      const load = {
        gateway: () => loadGatewayConfig(env),
        registry: () => loadRegistryConfig(env),
        'model-server': () => {
          const args = c.args!;
          return loadModelServerConfig(
            { model: args[args.indexOf('--model') + 1], version: args[args.indexOf('--version') + 1] },
            env,
          );
        },
      }[component(w) as 'gateway' | 'registry' | 'model-server'];
      expect({ workload: w.metadata.name, config: load() }).toMatchObject({
        workload: w.metadata.name,
        config: expect.objectContaining({}),
      });
    }
    const modelServer = byKind('Deployment').find((d) => d.metadata.name === 'model-digits-v1')!;
    expect(
      loadModelServerConfig({ model: 'digits', version: '1' }, containerEnv(containersOf(modelServer)[0]!))
        .PUBLIC_URL,
    ).toBe('http://10.0.0.7:8501');
  });

  it('lets every service take METRICS_TOKEN and the TLS files from optional Secrets, off until created', () => {
    for (const w of workloads) {
      const c = containersOf(w)[0]!;
      const token = c.env!.find((e) => e.name === 'METRICS_TOKEN')?.valueFrom?.secretKeyRef;
      expect({ workload: w.metadata.name, token }).toEqual({
        workload: w.metadata.name,
        token: { name: 'modelgate-secrets', key: 'metrics-token', optional: true },
      });
      const mount = c.volumeMounts!.find((m) => m.mountPath === '/etc/modelgate/tls');
      expect(mount?.readOnly).toBe(true);
      const volume = podOf(w).spec!.volumes!.find((v) => v.name === mount!.name);
      expect(volume?.secret).toEqual({ secretName: 'modelgate-tls', optional: true });
      // Unset in the committed ConfigMap: plain HTTP until an operator names the files.
      expect(containerEnv(c).TLS_CERT_FILE).toBeUndefined();
    }
  });

  it('sets resource requests and limits on every container', () => {
    for (const w of workloads) {
      for (const c of [...containersOf(w), ...initContainersOf(w)]) {
        expect({ container: c.name, r: c.resources }).toMatchObject({
          r: {
            requests: { cpu: expect.anything(), memory: expect.anything() },
            limits: { memory: expect.anything() },
          },
        });
      }
    }
  });

  it('runs every pod as a non-root user without privilege escalation', () => {
    for (const w of workloads) {
      expect(podOf(w).spec!.securityContext?.runAsNonRoot).toBe(true);
      for (const c of [...containersOf(w), ...initContainersOf(w)]) {
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('points gateway and registry at DATABASE_URL from the Secret, with 2+ gateway replicas sharing it', () => {
    for (const name of ['gateway', 'registry']) {
      const d = workloads.find((x) => x.metadata.name === name)!;
      const ref = containersOf(d)[0]!.env!.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
      expect({ name, ref }).toEqual({ name, ref: { name: 'modelgate-secrets', key: 'database-url' } });
    }
    const gateway = byKind('Deployment').find((x) => x.metadata.name === 'gateway')!;
    expect(gateway.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(loadGatewayConfig(containerEnv(containersOf(gateway)[0]!)).DATABASE_URL).toMatch(/^postgres:\/\//);
  });

  it('scales the gateway and each model version with an HPA aimed at an existing Deployment', () => {
    const hpas = byKind('HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name)).toContain('gateway');
    for (const h of hpas) {
      const target = byKind('Deployment').find((d) => d.metadata.name === h.spec.scaleTargetRef.name);
      expect({ hpa: h.metadata.name, found: target !== undefined }).toEqual({
        hpa: h.metadata.name,
        found: true,
      });
      expect(h.spec.minReplicas).toBeLessThanOrEqual(h.spec.maxReplicas);
      // Utilization targets are a share of the CPU request; without one the HPA cannot compute it.
      for (const c of containersOf(target!)) expect(c.resources?.requests?.cpu).toBeDefined();
    }
  });

  it('runs the registry as a single-replica StatefulSet writing the persistent store', () => {
    const [registry, ...others] = byKind('StatefulSet');
    expect(others).toEqual([]);
    expect(registry!.metadata.name).toBe('registry');
    expect(registry!.spec.replicas).toBe(1);
    const governing = byKind('Service').find((s) => s.metadata.name === registry!.spec.serviceName);
    expect(governing?.spec.clusterIP).toBe('None');
    const claims = byKind('PersistentVolumeClaim').map((p) => p.metadata.name);
    const storeVolume = podOf(registry!).spec!.volumes!.find((v) => v.name === 'store');
    expect(claims).toContain(storeVolume?.persistentVolumeClaim?.claimName);
    const mount = containersOf(registry!)[0]!.volumeMounts!.find((m) => m.name === 'store');
    expect(mount?.readOnly).toBeFalsy();
    expect(mount?.mountPath).toBe(
      containersOf(registry!)[0]!.env!.find((e) => e.name === 'MODEL_STORE')!.value,
    );
  });

  it('lets model-servers read the same store read-only and reach the registry by its Service', () => {
    const registrySvc = byKind('Service').find((s) => s.metadata.name === 'registry')!;
    const registryUrl = `http://registry:${registrySvc.spec.ports[0].port}`;
    for (const w of workloads.filter((x) => component(x) !== 'registry')) {
      const c = containersOf(w)[0]!;
      expect(c.env!.find((e) => e.name === 'REGISTRY_URL')?.value).toBe(registryUrl);
      if (component(w) !== 'model-server') continue;
      const store = podOf(w).spec!.volumes!.find((v) => v.name === 'store');
      expect(store?.persistentVolumeClaim?.claimName).toBe('modelgate-store');
      const mount = c.volumeMounts!.find((m) => m.name === 'store')!;
      expect(mount.readOnly).toBe(true);
      expect(mount.mountPath).toBe(c.env!.find((e) => e.name === 'MODEL_STORE')!.value);
      expect(c.env!.find((e) => e.name === 'PUBLIC_URL')?.value).toBe(
        `http://$(POD_IP):${containerPort(c, 'http')}`,
      );
    }
  });

  it('sends the optional Ingress to the gateway Service port', () => {
    const ingress = optional.find((o) => o.kind === 'Ingress')!;
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    const gateway = byKind('Service').find((s) => s.metadata.name === backend.name);
    expect(gateway?.spec.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
    expect(ingress.spec.tls[0].secretName).toBeDefined();
  });
});
