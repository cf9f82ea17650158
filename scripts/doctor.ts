/**
 * npm run doctor -- <provider> <environment> [--url http://127.0.0.1:3000] [--key-file .data/admin-api-key]
 *
 * Asks the running service's provider doctor (POST /v1/providers/{provider}/environments/
 * {environment}/doctor) and prints each check, its cause and its fix. It asks the service rather
 * than checking from here because what matters is what the service's own host can reach: its
 * DNS, its egress address, its credentials. Exits 0 when no check failed, 1 when one did, 2 when
 * the service could not be asked.
 *
 * The API key (scope credentials:admin) is read from --key-file, by default the admin key a local
 * first start saves in DATA_DIR/admin-api-key; the URL defaults to http://HOST:PORT.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../src/config/environment';
import { projectRoot, resolveDataDir } from '../src/config/paths';

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  message: string;
  fix: string | null;
}

const MARK: Record<Check['status'], string> = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, 'key-file': { type: 'string' } },
  });
  const [provider, environmentName] = positionals;
  if (!provider || !environmentName) {
    process.stderr.write('usage: npm run doctor -- <provider> <environment> [--url URL] [--key-file FILE]\n');
    return 2;
  }
  const dotenv = path.join(projectRoot(), '.env');
  if (existsSync(dotenv)) process.loadEnvFile(dotenv);
  const environment = loadEnvironment(process.env);
  const base = (values.url ?? `http://${environment.HOST}:${environment.PORT}`).replace(/\/+$/, '');
  const keyFile = values['key-file'] ?? path.join(resolveDataDir(environment.DATA_DIR), 'admin-api-key');
  if (!existsSync(keyFile)) {
    process.stderr.write(
      `No API key at ${keyFile}: pass --key-file with a key that has the credentials:admin scope.\n`,
    );
    return 2;
  }
  const key = readFileSync(keyFile, 'utf8').trim();
  const url = `${base}/v1/providers/${encodeURIComponent(provider)}/environments/${encodeURIComponent(environmentName)}/doctor`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${key}` } });
  } catch (error) {
    process.stderr.write(`The service at ${base} could not be asked (${(error as Error).message}). Is it running?\n`);
    return 2;
  }
  const body = (await response.json()) as { ok?: boolean; checks?: Check[]; error?: { code: string; message: string } };
  if (!response.ok || !body.checks) {
    process.stderr.write(
      `${response.status} ${body.error?.code ?? ''}: ${body.error?.message ?? 'unexpected answer'}\n`,
    );
    return 2;
  }
  process.stdout.write(`${provider} ${environmentName}\n`);
  for (const check of body.checks) {
    process.stdout.write(`  ${MARK[check.status]}  ${check.name}: ${check.message}\n`);
    if (check.fix) process.stdout.write(`        fix: ${check.fix}\n`);
  }
  process.stdout.write(body.ok ? 'No check failed.\n' : 'A check failed: fix it before the first real payout.\n');
  return body.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
