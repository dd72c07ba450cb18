import { planReconcile, versionsInRoutes } from '../../../cli/supervisor/reconcile';

describe('planReconcile', () => {
  it('starts every registered version without a server and stops every server without a version', () => {
    const desired = [
      { model: 'digits', version: '10' },
      { model: 'digits', version: '2' },
      { model: 'penguins', version: '1' },
    ];
    expect(planReconcile(desired, ['penguins/1', 'digits/3', 'digits/1'])).toEqual({
      start: [
        { model: 'digits', version: '2' },
        { model: 'digits', version: '10' },
      ],
      stop: ['digits/1', 'digits/3'],
    });
  });

  it('changes nothing when every version has its one server', () => {
    expect(planReconcile([{ model: 'a', version: '1' }], new Set(['a/1']))).toEqual({ start: [], stop: [] });
  });
});

describe('versionsInRoutes', () => {
  it('reads model and version names from a routing table body', () => {
    const body = {
      revision: 3,
      models: { digits: { policy: {}, versions: { '1': {}, '2': {} } }, empty: { versions: {} } },
    };
    expect(versionsInRoutes(body)).toEqual([
      { model: 'digits', version: '1' },
      { model: 'digits', version: '2' },
    ]);
    expect(versionsInRoutes(null)).toEqual([]);
    expect(versionsInRoutes({ models: 'x' })).toEqual([]);
  });
});
