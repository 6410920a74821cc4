// Bundles the client (src/client) with its one dependency into a single ES module that browsers
// and Node 20+ load as is: dist/client/profile-client.mjs. Types come from the tsc build.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/client/index.ts'],
  outfile: 'dist/client/profile-client.mjs',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['browser', 'module', 'main'],
  conditions: ['browser', 'import'],
  target: ['es2022'],
  sourcemap: true,
  legalComments: 'linked',
});
