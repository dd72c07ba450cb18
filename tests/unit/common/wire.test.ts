import { nameSchema, policyInputSchema, unknownPolicyVersions } from '../../../common/wire';

describe('nameSchema', () => {
  it.each(['digits', 'v1', '2', 'my-model_2.1'])('accepts %s', (name) => {
    expect(nameSchema.safeParse(name).success).toBe(true);
  });

  it.each(['', '..', '../etc', '/abs', 'a/b', 'UPPER', 'a\u0000b', '.hidden', 'a..b', 'x'.repeat(65)])(
    'rejects %j',
    (name) => {
      expect(nameSchema.safeParse(name).success).toBe(false);
    },
  );
});

describe('policyInputSchema', () => {
  const base = {
    variants: [
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ],
  };

  it('fills defaults for sticky, shadow, aliases and failover', () => {
    const policy = policyInputSchema.parse(base);
    expect(policy).toEqual({ ...base, sticky: null, shadow: null, aliases: {}, failover: true });
  });

  it('says what the weights sum to when they do not make 100', () => {
    const result = policyInputSchema.safeParse({
      variants: [
        { version: '1', weight: 60 },
        { version: '2', weight: 30 },
      ],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('sum to 90');
  });

  it('rejects fractional weights, duplicates and unknown fields', () => {
    expect(
      policyInputSchema.safeParse({
        variants: [
          { version: '1', weight: 99.5 },
          { version: '2', weight: 0.5 },
        ],
      }).success,
    ).toBe(false);
    expect(
      policyInputSchema.safeParse({
        variants: [
          { version: '1', weight: 50 },
          { version: '1', weight: 50 },
        ],
      }).success,
    ).toBe(false);
    expect(policyInputSchema.safeParse({ ...base, extra: true }).success).toBe(false);
  });

  it('lists versions the policy names that do not exist', () => {
    const policy = policyInputSchema.parse({
      ...base,
      shadow: { version: '3', percent: 10 },
      aliases: { canary: '4' },
    });
    expect(unknownPolicyVersions(policy, new Set(['1', '2']))).toEqual(['3', '4']);
  });
});
