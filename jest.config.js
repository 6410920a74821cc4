/**
 * Unit tests (*.spec.ts) need nothing; integration tests (*.integration-spec.ts) talk to a real
 * Postgres: DATABASE_URL when set, else an embedded one that test/support/global-setup.js starts.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.integration-spec.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // jose ships only ES modules, which Jest's CommonJS runtime cannot load untransformed.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // Two cores: two workers keep the suite quick without starving the servers under test.
  maxWorkers: 2,
  testTimeout: 30000,
  reporters: ['default', ['<rootDir>/test/support/count-reporter.js', { outputFile: 'test-results.json' }]],
};
