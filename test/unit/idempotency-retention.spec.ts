import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../src/config/paths';
import { IDEMPOTENCY_KEY_RETENTION_HOURS } from '../../src/payouts/domain/idempotency';
import { IDEMPOTENCY_TTL } from '../../src/payouts/persistence/idempotency-keys.repository';

/** One retention for Idempotency-Keys: what is stored, what the contract promises and what the README says. */
describe('Idempotency-Key retention', () => {
  const hours = IDEMPOTENCY_KEY_RETENTION_HOURS;

  it('is the stored expiry', () => {
    expect(IDEMPOTENCY_TTL).toBe(`${hours} hours`);
  });

  it('is what openapi.json promises on POST /v1/payouts', () => {
    const document = JSON.parse(readFileSync(path.join(projectRoot(), 'openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, { parameters: Array<{ name: string; description: string }> }>>;
    };
    const header = document.paths['/v1/payouts'].post.parameters.find((p) => p.name === 'Idempotency-Key');
    expect(header?.description).toContain(`Kept ${hours} h`);
  });

  it('is what the README says, and no other figure', () => {
    const readme = readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
    expect(readme).toContain(`kept ${hours} h`);
    expect(readme.match(/Idempotency-Key[^.\n]*kept \d+ ?h/gi)?.every((line) => line.includes(`kept ${hours} h`))).toBe(
      true,
    );
  });
});
