import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * CSRs made by openssl (not by the product's code), as a provider's tooling would make them.
 * key: rsa:<bits>, ec:<curve> (P-256, secp256k1, …), dsa or ed25519. subject in openssl's
 * -subj syntax ("/CN=a/O=b"); addext: extensions the request asks for (the CA must ignore them).
 */
export function opensslCsr(options: { subject: string; key?: string; addext?: string[]; multivalueRdn?: boolean }): {
  csrPem: string;
  keyPem: string;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'pbt-csr-'));
  try {
    const key = options.key ?? 'rsa:2048';
    const keyArgs: string[] = [];
    if (key.startsWith('ec:')) keyArgs.push('-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key.slice(3)}`);
    else if (key === 'dsa') {
      execFileSync(
        'openssl',
        [
          'genpkey',
          '-genparam',
          '-algorithm',
          'DSA',
          '-pkeyopt',
          'dsa_paramgen_bits:2048',
          '-out',
          path.join(dir, 'dsa.pem'),
        ],
        { stdio: 'ignore' },
      );
      keyArgs.push('-newkey', `dsa:${path.join(dir, 'dsa.pem')}`);
    } else keyArgs.push('-newkey', key);
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        ...keyArgs,
        '-nodes',
        '-keyout',
        path.join(dir, 'k.pem'),
        '-out',
        path.join(dir, 'c.csr'),
        '-subj',
        options.subject,
        ...(options.multivalueRdn ? ['-multivalue-rdn'] : []),
        ...(options.addext ?? []).flatMap((extension) => ['-addext', extension]),
      ],
      { stdio: 'ignore' },
    );
    return {
      csrPem: readFileSync(path.join(dir, 'c.csr'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'k.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** openssl's text dump of a certificate, to check what it says without the product's parser. */
export function opensslText(certificatePem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificatePem, encoding: 'utf8' });
}
