// Two projects: pure unit tests never touch the lab; integration tests (`*.int.test.ts`) share one
// lab per run through a global set-up/tear-down.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2024', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] };
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.lab/', '<rootDir>/dist/'],
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.test.ts'], testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      globalSetup: '<rootDir>/test/lab-global-setup.ts',
      globalTeardown: '<rootDir>/test/lab-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration-timeout.ts'],
    },
  ],
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // Integration suites share one lab: run files one at a time.
  maxWorkers: process.argv.includes('integration') ? 1 : '50%',
};
