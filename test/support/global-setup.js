// Runs once per test run, outside Jest's module system, on the compiled server (`npm test` builds
// first): applies migrations, and without DATABASE_URL starts a throwaway embedded Postgres whose
// URL reaches the test workers through the environment.
require('reflect-metadata');
const os = require('node:os');
const path = require('node:path');
const { openDatabase } = require('../../dist/src/db/database.js');
const { startEmbeddedDatabase } = require('../../dist/src/db/embedded-postgres.js');

module.exports = async function globalSetup() {
  if (!process.env.DATABASE_URL) {
    const embedded = await startEmbeddedDatabase({
      dataDir: path.join(os.tmpdir(), `profile-service-test-pg-${process.pid}`),
      port: 54330 + (process.pid % 500),
      persistent: false,
    });
    process.env.DATABASE_URL = embedded.url;
    globalThis.__embeddedDatabase = embedded;
  }
  const database = await openDatabase(process.env.DATABASE_URL, { poolMax: 1, migrate: true });
  await database.close();
};
