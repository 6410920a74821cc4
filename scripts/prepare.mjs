// `npm ci` builds the server through this `prepare` step. A production install
// (`npm ci --omit=dev`) has no TypeScript: it keeps the dist/ an earlier full install built, and
// refuses only when there is none, rather than failing on a missing compiler.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
let hasCompiler = true;
try {
  require.resolve('typescript');
} catch {
  hasCompiler = false;
}
if (hasCompiler) {
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  process.exit(build.status ?? 1);
}
if (existsSync('dist/src/main.js')) {
  console.log('prepare: no TypeScript here (a production install): using the dist/ built before');
  process.exit(0);
}
console.error(
  'prepare: no TypeScript and no dist/: a production install needs the server built first.\n' +
    'Run scripts/production-install.sh (npm ci, build, prune), or build the container recipe (Dockerfile).',
);
process.exit(1);
