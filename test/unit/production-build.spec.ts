import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { loadEnvironment } from '../../src/config/environment';
import { projectRoot } from '../../src/config/paths';
import { loadDemoMode } from '../../src/demo-mode';

/**
 * The production build (tsconfig.prod.json, used by the Dockerfile) holds no simulator and no
 * demo code, and the production entry cannot reach them: they are loaded only by path, behind
 * `simulatorsEnabled`, in development.
 */
const root = projectRoot();
const DEVELOPMENT_ONLY = [path.join(root, 'src', 'simulators') + path.sep, path.join(root, 'src', 'demo') + path.sep];
const isDevelopmentOnly = (file: string) => DEVELOPMENT_ONLY.some((folder) => path.resolve(file).startsWith(folder));

function productionProgram(): ts.Program {
  const configFile = path.join(root, 'tsconfig.prod.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.prod.json could not be read');
  expect(parsed.errors).toEqual([]);
  return ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
}

/** The files tsc emits for a program: its own sources, not declaration files or dependencies. */
function emittedSources(program: ts.Program): string[] {
  return program
    .getSourceFiles()
    .filter((file) => !file.isDeclarationFile && !program.isSourceFileFromExternalLibrary(file))
    .map((file) => path.resolve(file.fileName));
}

/** `require("./…")` calls in the CommonJS tsc emits for one file (type-only imports are elided). */
function relativeRequires(file: string, options: ts.CompilerOptions): string[] {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file });
  return [...outputText.matchAll(/\brequire\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)].map(([, specifier]) => specifier);
}

function resolveSource(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base])
    if (existsSync(candidate)) return candidate;
  return null;
}

/** Parsing and type-checking the whole program takes seconds alone, and minutes on a loaded machine. */
const COMPILER_TIMEOUT_MS = 180_000;

describe('the production build', () => {
  let program: ts.Program;
  let sources: string[];
  beforeAll(() => {
    program = productionProgram();
    sources = emittedSources(program);
  }, COMPILER_TIMEOUT_MS);

  it('compiles no file from src/simulators or src/demo, and no spec', () => {
    expect(sources).toContain(path.join(root, 'src', 'main.ts'));
    // If anything the production code imports (even for a type) lived there, tsc would pull it in here.
    expect(sources.filter(isDevelopmentOnly).map((file) => path.relative(root, file))).toEqual([]);
    expect(sources.filter((file) => file.endsWith('.spec.ts')).map((file) => path.relative(root, file))).toEqual([]);
  });

  it(
    'type-checks: the production sources compile on their own',
    () => {
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
    },
    COMPILER_TIMEOUT_MS,
  );

  it(
    "the production entry's static import graph stays inside the production build",
    () => {
      const inBuild = new Set(sources);
      const seen = new Set<string>();
      const escapes: string[] = [];
      const entries = sources.filter(
        (file) => file === path.join(root, 'src', 'main.ts') || file.startsWith(path.join(root, 'scripts') + path.sep),
      );
      const queue = [...entries];
      while (queue.length > 0) {
        const file = queue.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const specifier of relativeRequires(file, program.getCompilerOptions())) {
          const target = resolveSource(file, specifier);
          // A require tsc did not follow (a literal require() call in TypeScript) would fail in the image.
          if (!target || !inBuild.has(target) || isDevelopmentOnly(target))
            escapes.push(`${path.relative(root, file)} -> ${specifier}`);
          else queue.push(target);
        }
      }
      expect(escapes).toEqual([]);
      // The walk did reach the application, not just the entry.
      expect(seen.has(path.join(root, 'src', 'app.factory.ts'))).toBe(true);
      expect(seen.has(path.join(root, 'src', 'demo-mode.ts'))).toBe(true);
    },
    COMPILER_TIMEOUT_MS,
  );

  it('refuses to load the demo mode in production, before touching the file system', async () => {
    const production = loadEnvironment({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://payments@127.0.0.1:5432/payments',
      CREDENTIALS_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
      ADMIN_API_KEY: 'a'.repeat(40),
    });
    expect(production.simulatorsEnabled).toBe(false);
    await expect(loadDemoMode(production)).rejects.toThrow(/only when SIMULATORS=auto outside production/);
  });
});
