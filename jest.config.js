/** Three projects: unit (one module, fakes allowed), integration (real processes on loopback),
 * e2e (the whole stack plus a real Prometheus binary). `npm test` runs the first two. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
const project = (name, timeout) => ({
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/tests/${name}`],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': tsJest },
  testTimeout: timeout,
});
module.exports = {
  projects: [project('unit', 20000), project('integration', 120000), project('e2e', 600000)],
  maxWorkers: 2,
};
