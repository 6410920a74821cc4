// Builds the client (src/client) as a package of its own in dist/client, installable with
// `npm pack dist/client` and nothing of the server's:
//   index.js, node.js          ES modules; node.js is the Node entry, which loads `ws` when Node has
//                              no global WebSocket. graphql-ws and ws stay dependencies.
//   cjs/index.js, cjs/node.js  the same as CommonJS.
//   *.d.ts, cjs/*.d.ts         the declarations tsc wrote to dist/src/client (run tsc first).
//   profile-client.mjs         one self-contained ES module, graphql-ws inlined, for a page to load as is.
//   package.json               written here, from the root package.json's version and pins.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CLIENT_PACKAGE_NAME = 'profile-service-client';
const OUT = 'dist/client';
const DECLARATIONS = 'dist/src/client';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const range = (name) => {
  const pinned = root.dependencies[name];
  if (pinned === undefined) throw new Error(`package.json has no dependency ${name}, which the client needs`);
  // The server pins exactly; a library asks for a compatible range so an app can share one copy.
  return `^${pinned}`;
};

const types = (dir) => `./${path.posix.join(dir, 'index.d.ts')}`;
const entry = (dir, name) => ({ types: types(dir), default: `./${path.posix.join(dir, `${name}.js`)}` });

const manifest = {
  name: CLIENT_PACKAGE_NAME,
  version: root.version,
  description: 'Client for the profile service with the call shapes of the Tencent Cloud Chat web SDK',
  license: root.license,
  type: 'module',
  engines: { node: '>=20' },
  sideEffects: false,
  exports: {
    '.': {
      node: { import: entry('.', 'node'), require: entry('cjs', 'node') },
      import: entry('.', 'index'),
      require: entry('cjs', 'index'),
    },
    './bundle': { types: types('.'), default: './profile-client.mjs' },
    './package.json': './package.json',
  },
  main: './cjs/index.js',
  types: types('.'),
  dependencies: { 'graphql-ws': range('graphql-ws') },
  // Installed by default, loaded only by the Node entry and only where there is no global WebSocket.
  optionalDependencies: { ws: range('ws') },
};

if (!existsSync(path.join(DECLARATIONS, 'node.d.ts'))) {
  throw new Error(`${DECLARATIONS}/node.d.ts is missing: run \`tsc -p .\` before this script (npm run build does)`);
}
rmSync(OUT, { recursive: true, force: true });
mkdirSync(path.join(OUT, 'cjs'), { recursive: true });

const entries = [
  { source: 'src/client/index.ts', name: 'index', platform: 'neutral' },
  { source: 'src/client/node.ts', name: 'node', platform: 'node' },
];
const formats = [
  { format: 'esm', dir: OUT, supported: {} },
  // As CommonJS, `import('ws')` becomes `require('ws')`, which also works where import() does not (Jest).
  { format: 'cjs', dir: `${OUT}/cjs`, supported: { 'dynamic-import': false } },
];
await Promise.all([
  ...entries.flatMap(({ source, name, platform }) =>
    formats.map(({ format, dir, supported }) =>
      build({
        entryPoints: [source],
        outfile: `${dir}/${name}.js`,
        bundle: true,
        packages: 'external',
        format,
        platform,
        supported,
        target: ['es2022'],
        sourcemap: true,
        logLevel: 'warning',
      }),
    ),
  ),
  build({
    entryPoints: ['src/client/index.ts'],
    outfile: `${OUT}/profile-client.mjs`,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser', 'import'],
    target: ['es2022'],
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  }),
]);

// The client's declarations, and the server's field table they are derived from (plain data,
// bundled into the code above), which the package carries beside them.
const SHARED_DECLARATIONS = { '../user/profile-fields.js': 'dist/src/user/profile-fields.d.ts' };
const declarations = readdirSync(DECLARATIONS)
  .filter((name) => name.endsWith('.d.ts'))
  .map((file) => [file, path.join(DECLARATIONS, file)]);
for (const file of Object.values(SHARED_DECLARATIONS)) {
  declarations.push([path.basename(file), file]);
}
for (const [name, file] of declarations) {
  let text = readFileSync(file, 'utf8');
  for (const specifier of Object.keys(SHARED_DECLARATIONS)) {
    text = text.replaceAll(`'${specifier}'`, `'./${path.basename(specifier)}'`);
  }
  writeFileSync(path.join(OUT, name), text);
  writeFileSync(path.join(OUT, 'cjs', name), text);
}
writeFileSync(path.join(OUT, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
writeFileSync(path.join(OUT, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
