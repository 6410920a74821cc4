import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '..', '..');
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));

describe('what npm ci installs', () => {
  const manifest = json('package.json') as { engines: { node: string }; license: string };
  const lock = json('package-lock.json') as { packages: Record<string, { engines?: { node?: string } | string[] }> };
  // The oldest Node the project supports: every package it installs must run there.
  const oldest = semver.minVersion(manifest.engines.node)!.version;

  it('runs on the oldest Node the project supports (no EBADENGINE warning)', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([name]) => name !== '')
      .flatMap(([name, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range !== undefined && semver.validRange(range) !== null && !semver.satisfies(oldest, range)
          ? [`${name} wants node ${range}`]
          : [];
      });
    expect(refusing).toEqual([]);
  });

  it('names its licence, and ships it, with .nvmrc on a supported Node', () => {
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(
      semver.satisfies(`${readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim()}.99.0`, manifest.engines.node),
    ).toBe(true);
  });
});
