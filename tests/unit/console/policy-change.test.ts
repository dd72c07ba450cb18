import { writeErrorText } from '../../../console/src/logic/errors';
import {
  changesSince,
  conflictMessage,
  describePolicyChange,
  type PolicyView,
} from '../../../console/src/logic/policy-change';

const policy = (over: Partial<PolicyView> = {}): PolicyView => ({
  variants: [
    { version: '1', weight: 90 },
    { version: '2', weight: 10 },
  ],
  sticky: null,
  shadow: null,
  aliases: { stable: '1' },
  failover: true,
  revision: 3,
  ...over,
});

describe('the confirmation before a policy write', () => {
  it('lists each setting that changes with before and after', () => {
    const after = policy({
      variants: [
        { version: '1', weight: 50 },
        { version: '2', weight: 50 },
      ],
      sticky: { header: 'x-user-id' },
      shadow: { version: '2', percent: 10 },
      failover: false,
    });
    expect(describePolicyChange(policy(), after)).toEqual([
      { what: 'weight of v1', before: '90 %', after: '50 %' },
      { what: 'weight of v2', before: '10 %', after: '50 %' },
      { what: 'sticky assignment', before: 'off (random per request)', after: 'by header x-user-id' },
      { what: 'shadow', before: 'off', after: 'v2 gets a copy of 10 %' },
      { what: 'failover', before: 'on', after: 'off' },
    ]);
  });

  it('says nothing when nothing changes, and names versions entering or leaving the split', () => {
    expect(describePolicyChange(policy(), policy())).toEqual([]);
    const three = policy({ variants: [...policy().variants.slice(0, 1), { version: '3', weight: 10 }] });
    expect(describePolicyChange(policy(), three)).toEqual([
      { what: 'weight of v2', before: '10 %', after: 'not in the split' },
      { what: 'weight of v3', before: 'not in the split', after: '10 %' },
    ]);
  });

  it('shows label moves', () => {
    expect(describePolicyChange(policy(), policy({ aliases: { stable: '2', canary: '1' } }))).toEqual([
      { what: 'label canary', before: 'unset', after: 'v1' },
      { what: 'label stable', before: 'v1', after: 'v2' },
    ]);
  });
});

describe('the stale-revision message', () => {
  const entry = (who: string, from: PolicyView, to: PolicyView, at = '2026-12-02T01:02:03Z') => ({
    at,
    who,
    action: 'policy.update',
    model: 'digits',
    before: from,
    after: to,
  });
  const r4 = policy({
    revision: 4,
    variants: [
      { version: '1', weight: 100 },
      { version: '2', weight: 0 },
    ],
  });
  const r5 = policy({ revision: 5, variants: r4.variants, sticky: { header: 'x-user' } });

  it('names who changed the policy since it was read, when, and what they did', () => {
    const audit = [
      entry('bob', r4, r5, '2026-12-02T01:05:00Z'),
      entry('alice', policy(), r4),
      entry('x', policy({ revision: 2 }), policy()),
    ];
    const changes = changesSince(audit, 3);
    expect(changes.map((c) => c.who)).toEqual(['alice', 'bob']);
    expect(conflictMessage({ model: 'digits', readRevision: 3, currentRevision: 5, changes })).toBe(
      'The digits policy changed since you loaded it (you edited revision 3, it is now at revision 5). ' +
        'Changed by alice at 2026-12-02 01:02:03 UTC: weight of v1 90 % → 100 %, weight of v2 10 % → 0 %; ' +
        'bob at 2026-12-02 01:05:00 UTC: sticky assignment off (random per request) → by header x-user. ' +
        'Reload to see their change; your edit was not applied.',
    );
  });

  it('still tells the reader what to do when the audit log says nothing yet', () => {
    expect(
      conflictMessage({ model: 'digits', readRevision: 3, currentRevision: undefined, changes: [] }),
    ).toBe(
      'The digits policy changed since you loaded it (you edited revision 3). The audit log does not say who changed it yet. ' +
        'Reload to see the current policy; your edit was not applied.',
    );
  });

  it('ignores audit entries without a policy revision (version pushes, model creation)', () => {
    const push = {
      at: '2026-12-02T01:00:00Z',
      who: 'ci',
      action: 'version.create',
      model: 'digits',
      before: null,
      after: { version: '3' },
    };
    expect(changesSince([push], 0)).toEqual([]);
  });
});

describe('refused writes', () => {
  it('tells a user without a token to enter it, keeping the registry message', () => {
    const text = writeErrorText(
      { status: 401, code: 'unauthorized', message: 'this write needs Authorization' },
      false,
    );
    expect(text).toMatch(/^Refused: no admin token entered\. Enter the admin token/);
    expect(text).toContain('this write needs Authorization');
  });

  it('tells a user whose token was refused to enter it again', () => {
    expect(writeErrorText({ status: 403, code: 'forbidden', message: 'token not accepted' }, true)).toBe(
      'Refused: token not accepted. Check the admin token entered in this tab (the "Admin token" box at the top).',
    );
    expect(writeErrorText({ status: 401, code: 'unauthorized', message: 'bad token' }, true)).toMatch(
      /not accepted/,
    );
  });

  it('passes other errors through as the API wrote them', () => {
    expect(
      writeErrorText({ status: 400, code: 'invalid_input', message: 'weights must sum to 100' }, true),
    ).toBe('weights must sum to 100');
  });
});
