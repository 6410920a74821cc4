module.exports = async function globalTeardown() {
  await globalThis.__embeddedDatabase?.stop();
};
