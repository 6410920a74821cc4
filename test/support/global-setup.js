// Runs once per test run, outside Jest's module system, on the compiled server (`npm test` builds
// first): applies migrations, and without DATABASE_URL starts a throwaway embedded Postgres whose
// URL reaches the test workers through the environment.
require('reflect-metadata');
const os = require('node:os');
const path = require('node:path');
const { openDatabase } = require('../../dist/src/db/database.js');
const { EmbeddedDatabasePortInUseError, startEmbeddedDatabase } = require('../../dist/src/db/embedded-postgres.js');
const { findFreePort } = require('../../dist/src/db/free-port.js');

/**
 * On a port outside the ephemeral range that was free a moment ago; another process may take it
 * before Postgres listens, so a port found taken is replaced by a new one. A failed start removes
 * its data folder.
 */
async function startTestDatabase() {
  const dataDir = path.join(os.tmpdir(), `profile-service-test-pg-${process.pid}`);
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    try {
      return await startEmbeddedDatabase({ dataDir, port, persistent: false });
    } catch (error) {
      if (!(error instanceof EmbeddedDatabasePortInUseError) || attempt === 3) throw error;
    }
  }
}

module.exports = async function globalSetup() {
  if (!process.env.DATABASE_URL) {
    const embedded = await startTestDatabase();
    process.env.DATABASE_URL = embedded.url;
    globalThis.__embeddedDatabase = embedded;
  }
  try {
    // Behind a transaction-mode pooler the migration lock needs the direct URL (DATABASE_LISTEN_URL).
    const database = await openDatabase(process.env.DATABASE_URL, {
      poolMax: 1,
      migrate: true,
      listenUrl: process.env.DATABASE_LISTEN_URL,
      preparedStatements: process.env.DATABASE_PREPARED_STATEMENTS !== 'false',
    });
    await database.close();
  } catch (error) {
    // Jest skips the teardown when the setup fails.
    await globalThis.__embeddedDatabase?.stop();
    throw error;
  }
};
