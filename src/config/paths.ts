import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

/**
 * The checkout's root (the folder holding this project's package.json), whether the code runs
 * from `src/` under Jest or from `dist/src/` after a build.
 */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'payments-backend'
    ) {
      cachedRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Could not find the payments-backend package.json above ' + __dirname);
    dir = parent;
  }
}

/** Resolves DATA_DIR (relative paths are taken from the project root, not the current directory). */
export function resolveDataDir(dataDir: string): string {
  return path.resolve(projectRoot(), dataDir);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
