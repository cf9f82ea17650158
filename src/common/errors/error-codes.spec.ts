import { HttpStatus } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../config/paths';
import { ProviderError } from '../../providers/provider.port';
import { ApiError } from './api-error';
import { ErrorCode } from './error-codes';

/** The README's error table: the one place an API consumer reads what each code means. */
function readmeErrorTable(): Map<string, string> {
  const readme = readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('**Errors** always have one shape');
  expect(start).toBeGreaterThan(-1);
  const rows = readme
    .slice(start)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  const documented = new Map<string, string>();
  for (const row of rows) {
    // The first column lists codes; a parenthesised code there is a `details` code (e.g. NUL_CHARACTER).
    const codes = row.split('|')[1].replace(/\([^)]*\)/g, '');
    for (const [, code] of codes.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) documented.set(code, row);
  }
  return documented;
}

describe('the error catalogue', () => {
  const catalogue = Object.values(ErrorCode);

  it('names each code by itself, in UPPER_SNAKE', () => {
    for (const [key, code] of Object.entries(ErrorCode)) {
      expect(code).toBe(key);
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    }
  });

  it('documents every code in the README error table, and documents no code that is not in it', () => {
    const documented = readmeErrorTable();
    expect(catalogue.filter((code) => !documented.has(code))).toEqual([]);
    // A retired or misspelled code in the table would send clients after a code nothing sends.
    expect([...documented.keys()].filter((code) => !(catalogue as string[]).includes(code))).toEqual([]);
  });

  it('is the only source of codes: the error types refuse a code that is not catalogued (checked by tsc)', () => {
    // These lines are type errors for as long as the constructors take the catalogue's type; if
    // someone widens `code` back to string, the @ts-expect-error directives fail the type check.
    // @ts-expect-error 'PAYOUTS_CANCEL_NOT_SUPPORTED' was retired for CAPABILITY_NOT_SUPPORTED
    const retired = new ApiError(HttpStatus.CONFLICT, 'PAYOUTS_CANCEL_NOT_SUPPORTED', 'not catalogued');
    // @ts-expect-error a provider error code outside the catalogue
    const invented = new ProviderError('SOMETHING_NEW', 'not catalogued');
    expect(catalogue).not.toContain(retired.code);
    expect(catalogue).not.toContain(invented.code);
    // And a catalogued provider code maps to a real HTTP status.
    expect(new ProviderError(ErrorCode.CAPABILITY_NOT_SUPPORTED, 'x').httpStatus).toBe(409);
  });
});
