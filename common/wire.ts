/** Wire schemas shared by registry, gateway, model-server and CLI. Each rule has one home here. */
import { z } from 'zod';
import { featureSpecSchema, specWidth } from './feature-spec';

/** Model and version names reach the file system, so they are checked before anything else. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9._-]{0,63}$ (lower-case letters, digits, ".", "_", "-")')
  .refine((s) => s !== '.' && s !== '..' && !s.includes('..'), 'must not contain ".."');
export const modelNameSchema = nameSchema.describe('model name');
export const versionNameSchema = nameSchema.describe('version name');

// ---------- traffic policy (models/<m>/policy.json, GET|PUT /models/:m/policy) ----------

export const variantSchema = z.object({
  version: versionNameSchema,
  weight: z.number().int().min(0).max(100),
});

export const stickySchema = z
  .object({ header: z.string().regex(/^[a-z0-9-]{1,64}$/i, 'must be an HTTP header name') })
  .strict();

export const shadowSchema = z
  .object({ version: versionNameSchema, percent: z.number().min(0).max(100) })
  .strict();

/** The policy body as a client sends it; `revision` is optional on PUT (If-Match carries it). */
export const policyInputSchema = z
  .object({
    variants: z.array(variantSchema).min(1).max(32),
    sticky: stickySchema.nullable().default(null),
    shadow: shadowSchema.nullable().default(null),
    aliases: z.record(nameSchema, versionNameSchema).default({}),
    failover: z.boolean().default(true),
    revision: z.number().int().nonnegative().optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    for (const [i, v] of policy.variants.entries()) {
      if (seen.has(v.version)) {
        ctx.addIssue({
          code: 'custom',
          path: ['variants', i, 'version'],
          message: `version "${v.version}" is listed twice`,
        });
      }
      seen.add(v.version);
    }
    const total = policy.variants.reduce((sum, v) => sum + v.weight, 0);
    if (total !== 100) {
      ctx.addIssue({
        code: 'custom',
        path: ['variants'],
        message: `weights must sum to 100, they sum to ${total}`,
      });
    }
  });

export type PolicyInput = z.input<typeof policyInputSchema>;
export type Policy = z.output<typeof policyInputSchema> & { revision: number };

/** Versions a policy refers to that do not exist: the registry and CLI both refuse such a policy. */
export function unknownPolicyVersions(
  policy: Omit<Policy, 'revision'>,
  existing: ReadonlySet<string>,
): string[] {
  const named = [
    ...policy.variants.map((v) => v.version),
    ...(policy.shadow ? [policy.shadow.version] : []),
    ...Object.values(policy.aliases),
  ];
  return [...new Set(named.filter((v) => !existing.has(v)))];
}

/** The default policy for a model with one version: all traffic on it. */
export function singleVersionPolicy(version: string): Policy {
  return {
    variants: [{ version, weight: 100 }],
    sticky: null,
    shadow: null,
    aliases: {},
    failover: true,
    revision: 1,
  };
}

// ---------- metadata.json, written by training and uploads, read by everyone ----------

export const tensorSpecSchema = z.object({
  name: z.string(),
  datatype: z.enum(['FP32', 'INT32']).default('FP32'),
  /** -1 for the batch dimension. */
  shape: z.array(z.number().int()),
});

/** A drift feature is either an input column or a summary computed from the whole row (for inputs
 * too wide to export one series each, like 784 pixels). */
export const driftSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('column'), index: z.number().int().nonnegative() }),
  z.object({
    kind: z.literal('summary'),
    fn: z.enum(['mean_intensity', 'ink_fraction', 'center_of_mass_x', 'center_of_mass_y']),
  }),
  /** A categorical feature read back from its one-hot columns: the value is the category's index in
   * the vocabulary (-1 when no column is hot); with drop_first the all-zero row is category 0. */
  z.object({
    kind: z.literal('category'),
    columns: z.array(z.number().int().nonnegative()).min(1),
    drop_first: z.boolean().default(false),
  }),
]);

export const driftFeatureSchema = z.object({
  name: z.string(),
  source: driftSourceSchema,
  continuous: z.boolean(),
  /** For category sources: the vocabulary, so PSI bins read as categories. */
  categories: z.array(z.string()).optional(),
  /** Nine cut points (deciles) of the training distribution; PSI bins by them. */
  deciles: z.array(z.number()),
  /** Share of training rows in each of the len(deciles)+1 bins. */
  proportions: z.array(z.number()),
  /** A sorted sample of training values, the reference for the two-sample KS statistic. */
  reference: z.array(z.number()),
});

export const metadataSchema = z
  .object({
    model: modelNameSchema,
    version: versionNameSchema,
    created: z.string(),
    description: z.string(),
    framework: z.string(),
    format: z.enum(['layers-model', 'graph-model']),
    inputs: z
      .array(
        tensorSpecSchema.extend({
          features: z.array(z.string()),
          /** Named and computed features (common/feature-spec.ts); absent: positional rows only. */
          feature_spec: featureSpecSchema.optional(),
        }),
      )
      .length(1),
    outputs: z.array(tensorSpecSchema.extend({ labels: z.array(z.string()) })).length(1),
    metrics: z.record(z.string(), z.number()),
    baseline: z.object({
      features: z.array(driftFeatureSchema),
      classes: z.record(z.string(), z.number()),
    }),
    /** sha256 (hex) of every artifact file, keyed by file name relative to the version folder. */
    artifacts: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((md, ctx) => {
    const input = md.inputs[0];
    if (!input?.feature_spec) return;
    const width = input.shape.slice(1).reduce((a, b) => a * b, 1);
    const spec = specWidth(input.feature_spec);
    if (spec !== width) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputs', 0, 'feature_spec', 'layout'],
        message: `the feature spec's layout fills ${spec} columns but the input takes ${width}`,
      });
    }
  });
export type Metadata = z.output<typeof metadataSchema>;

export function inputWidth(metadata: Metadata): number {
  const shape = metadata.inputs[0]!.shape;
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

// ---------- heartbeats and the routing table ----------

export const heartbeatSchema = z
  .object({
    model: modelNameSchema,
    version: versionNameSchema,
    url: z.url(),
    ready: z.boolean().default(true),
    backend: z.string().max(32).optional(),
  })
  .strict();
export type Heartbeat = z.output<typeof heartbeatSchema>;

export const routeVersionSchema = z.object({
  /** Base URLs of live, ready instances, e.g. http://127.0.0.1:8501. */
  instances: z.array(z.string()),
  input_width: z.number().int().positive(),
  features: z.array(z.string()),
  labels: z.array(z.string()),
  /** The version's named-feature spec, when its metadata declares one. */
  feature_spec: featureSpecSchema.optional(),
});

/** The experiment a model is running (gateways tag prediction records with its id). */
export const routeExperimentSchema = z.object({
  id: z.string(),
  control: z.string(),
  candidates: z.array(z.string()),
  unit: z.enum(['request', 'user']),
});

export const routeModelSchema = z.object({
  policy: z.custom<Policy>(),
  versions: z.record(z.string(), routeVersionSchema),
  experiment: routeExperimentSchema.optional(),
});

/** `GET /routes`: everything a gateway needs to route, versioned by `revision` (also the ETag). */
export const routesSchema = z.object({
  revision: z.number().int().nonnegative(),
  models: z.record(z.string(), routeModelSchema),
});
export type Routes = z.output<typeof routesSchema>;
