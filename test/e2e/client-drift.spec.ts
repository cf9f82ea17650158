import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';

/** The committed TypeScript client is what openapi.json makes, and compiles as a strict frontend would. */
describe('the committed TypeScript client (clients/typescript)', () => {
  const root = projectRoot();
  const node = (script: string, args: string[]) =>
    execFileSync(process.execPath, [path.join(root, script), ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe' });

  it('has the types openapi-typescript makes of the committed openapi.json (run `npm run client` after `npm run openapi`)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbt-client-'));
    try {
      const generated = path.join(dir, 'schema.d.ts');
      node('node_modules/openapi-typescript/bin/cli.js', ['openapi.json', '--output', generated]);
      expect(readFileSync(generated, 'utf8')).toBe(
        readFileSync(path.join(root, 'clients/typescript/schema.d.ts'), 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compiles with its example under --strict, noUncheckedIndexedAccess and exactOptionalPropertyTypes, library types included', () => {
    // Throws with the compiler's output when there is an error.
    node('node_modules/typescript/bin/tsc', ['-p', 'clients/typescript/tsconfig.json']);
    for (const file of ['index.ts', 'example.ts']) {
      const code = readFileSync(path.join(root, 'clients/typescript', file), 'utf8').replace(
        /^\s*(\/\/|\/?\*).*$/gm,
        '',
      );
      // No type assertion anywhere (`as const` is not one): the types alone must carry a frontend.
      expect([file, code.match(/\bas\s+(?!const\b)\w+/g)]).toEqual([file, null]);
    }
  });
});
