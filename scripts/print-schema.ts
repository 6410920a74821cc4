import 'reflect-metadata';
import { printSubgraphSchema } from '@apollo/subgraph';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema } from '../src/schema.js';

/**
 * Prints the subgraph SDL (federation directives included) to schema/schema.graphql.
 * With --check, fails instead when the checked-in file differs from what the code builds.
 */
async function main(): Promise<void> {
  const file = path.resolve(__dirname, '..', '..', 'schema', 'schema.graphql');
  const sdl = `${printSubgraphSchema(await buildAppSchema()).trim()}\n`;
  if (!process.argv.includes('--check')) {
    writeFileSync(file, sdl);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    return;
  }
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    /* missing counts as drift */
  }
  if (current !== sdl) {
    process.stderr.write(
      'schema/schema.graphql does not match the schema the code builds.\n' +
        'Run `npm run schema:print`, review the diff, and commit it with the change that caused it.\n',
    );
    process.exit(1);
  }
  process.stdout.write('schema/schema.graphql is up to date\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
