/** Three projects: unit (one module, fakes allowed), integration (real processes on loopback),
 * e2e (the whole stack plus real Prometheus/promtool/docker-compose binaries). `npm test` runs the
 * first two. Jest ignores `testTimeout` inside projects, so each sets its own in a setup file. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
const project = (name) => ({
  displayName: name,
  testEnvironment: 'node',
  roots: [`<rootDir>/tests/${name}`],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': tsJest },
  setupFilesAfterEnv: [`<rootDir>/tests/setup/timeout-${name}.ts`],
});
module.exports = {
  projects: [project('unit'), project('integration'), project('e2e')],
  maxWorkers: 2,
};
