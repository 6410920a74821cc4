import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The layers of CONTRIBUTING.md, from the top: every import points to the same layer or a lower
 * one, and nothing below the transports imports the app's context or server.
 */
const LAYERS = ['transport', 'resolver', 'service', 'repository', 'shared'] as const;
type Layer = (typeof LAYERS)[number];

const ROOT = path.resolve(__dirname, '..', '..');

/** Which layer a source file belongs to, by its folder and its role suffix. */
export function layerOf(file: string): Layer {
  const name = path.basename(file);
  if (
    /^src\/(main|app|server|schema|context)\.ts$/.test(file) ||
    /^src\/(http|gate|execution|graphiql|transport)\//.test(file) ||
    ['src/db/database.ts', 'src/db/readiness.ts', 'src/observability/request-observer.ts', 'ormconfig.ts'].includes(
      file,
    )
  ) {
    return 'transport';
  }
  if (/\.(resolver|reference|types|inputs)\.ts$/.test(name) || file.startsWith('src/federation/')) return 'resolver';
  if (/\.(repository|entity|enums|model)\.ts$/.test(name) || name === 'profile-fields.ts') return 'repository';
  if (
    /^src\/(shared|db|scalars)\//.test(file) ||
    ['src/errors.ts', 'src/config.ts', 'src/context-slot.ts', 'src/coalescing-poller.ts', 'src/logger.ts'].includes(
      file,
    ) ||
    ['src/auth/viewer.ts', 'src/observability/metrics.ts'].includes(file)
  ) {
    return 'shared';
  }
  return 'service';
}

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder)).flatMap((entry) => {
    const relative = `${folder}/${entry}`;
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sourceFiles(relative);
    return relative.endsWith('.ts') ? [relative] : [];
  });
}

/** The project files `file` imports, relative to the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.[^']+)';/gms)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1])).replace(/\.js$/, '.ts');
    if (existsSync(path.join(ROOT, target))) found.push(target);
  }
  return found;
}

// The client is a package of its own: it may use only the plain data it shares with the server.
const files = sourceFiles('src').filter((file) => !file.startsWith('src/client/'));

it('every import points down the layers, or within one', () => {
  const upward = files.flatMap((file) =>
    importsOf(file)
      .filter((target) => LAYERS.indexOf(layerOf(target)) < LAYERS.indexOf(layerOf(file)))
      .map((target) => `${file} (${layerOf(file)}) imports ${target} (${layerOf(target)})`),
  );
  expect(upward).toEqual([]);
});

it('no feature imports the app context or the server', () => {
  const offenders = files
    .filter((file) => layerOf(file) !== 'transport')
    .flatMap((file) =>
      importsOf(file)
        .filter((target) => target === 'src/context.ts' || target === 'src/server.ts')
        .map((target) => `${file} imports ${target}`),
    );
  expect(offenders).toEqual([]);
});

it('the client imports nothing of the server but the field table it shares', () => {
  const client = sourceFiles('src').filter((file) => file.startsWith('src/client/'));
  const outside = client.flatMap((file) =>
    importsOf(file).filter((target) => !target.startsWith('src/client/') && target !== 'src/user/profile-fields.ts'),
  );
  expect(outside).toEqual([]);
});

it('knows the layers of a few files, so the rules above cannot pass by classing everything alike', () => {
  expect(layerOf('src/server.ts')).toBe('transport');
  expect(layerOf('src/user/user.resolver.ts')).toBe('resolver');
  expect(layerOf('src/user/user.service.ts')).toBe('service');
  expect(layerOf('src/user/user.repository.ts')).toBe('repository');
  expect(layerOf('src/shared/input-rules.ts')).toBe('shared');
  expect(files.length).toBeGreaterThan(50);
});
