// Per-project default timeout: jest ignores testTimeout inside `projects`.
jest.setTimeout(20000);
