import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigurationError, environmentVariableNames, loadEnvironment } from '../../src/config/environment';
import { projectRoot } from '../../src/config/paths';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadEnvironment(source);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('environment validation', () => {
  it('needs nothing at all for a local start', () => {
    const environment = loadEnvironment({});
    expect(environment).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '127.0.0.1',
      DATA_DIR: '.data',
      LOG_LEVEL: 'info',
    });
    expect(environment.DATABASE_URL).toBeUndefined();
  });

  it('names every bad variable in one message', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_POOL_MAX: '0',
      DATABASE_URL: 'mysql://x',
    });
    expect(problems.map((problem) => problem.split(' ')[0]).sort()).toEqual([
      'DATABASE_POOL_MAX',
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
    ]);
  });

  it('never echoes a value, since some are secrets', () => {
    const secret = 'postgres://user:hunter2-very-secret@db/x y';
    const problems = problemsOf({
      DATABASE_URL: secret,
      ADMIN_API_KEY: 'short secret!',
      CREDENTIALS_MASTER_KEY: 'not-base64-secret',
    });
    expect(problems).toHaveLength(3);
    const text = problems.join('\n');
    for (const value of ['hunter2', 'short secret', 'not-base64-secret']) expect(text).not.toContain(value);
  });

  it('refuses production without DATABASE_URL and CREDENTIALS_MASTER_KEY', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL is required when NODE_ENV=production/),
      expect.stringMatching(/^CREDENTIALS_MASTER_KEY is required when NODE_ENV=production/),
    ]);
    expect(() =>
      loadEnvironment({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://db/x',
        CREDENTIALS_MASTER_KEY: MASTER_KEY,
      }),
    ).not.toThrow();
  });

  it('accepts only a 32-byte base64 master key', () => {
    expect(problemsOf({ CREDENTIALS_MASTER_KEY: Buffer.alloc(16).toString('base64') })).toHaveLength(1);
    expect(problemsOf({ CREDENTIALS_MASTER_KEY: MASTER_KEY })).toEqual([]);
  });

  it('treats blank values as unset and converts numbers', () => {
    const environment = loadEnvironment({ PORT: '8080', DATABASE_URL: '', ADMIN_API_KEY: '  ' });
    expect(environment.PORT).toBe(8080);
    expect(environment.DATABASE_URL).toBeUndefined();
    expect(environment.ADMIN_API_KEY).toBeUndefined();
  });

  it('limits heap growth to 1.5 times by default, and takes 0 (V8 decides) up to 300 percent', () => {
    expect(loadEnvironment({}).HEAP_GROWTH_PERCENT).toBe(50);
    expect(loadEnvironment({ HEAP_GROWTH_PERCENT: '0' }).HEAP_GROWTH_PERCENT).toBe(0);
    expect(problemsOf({ HEAP_GROWTH_PERCENT: '301' })).toEqual([expect.stringMatching(/^HEAP_GROWTH_PERCENT /)]);
    expect(problemsOf({ HEAP_GROWTH_PERCENT: '1.5' })).toEqual([expect.stringMatching(/^HEAP_GROWTH_PERCENT /)]);
  });

  it('.env.example and the README document every variable, and nothing else', () => {
    const example = readFileSync(path.join(projectRoot(), '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]).sort();
    expect(documented).toEqual(environmentVariableNames());
    const readme = readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
    for (const name of environmentVariableNames()) expect(readme).toContain(`\`${name}\``);
  });
});
