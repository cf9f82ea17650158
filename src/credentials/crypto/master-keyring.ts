import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export interface MasterKey {
  /** Identifies the key without revealing it: a prefix of its SHA-256. Stored beside each wrapped data key. */
  id: string;
  key: Buffer;
}

/**
 * The master keys that wrap the per-credential data keys: the current one (new wraps) and any
 * previous ones (still able to unwrap while `credentials:rotate-master-key` re-wraps everything).
 */
export class MasterKeyring {
  private readonly byId: Map<string, MasterKey>;

  constructor(
    readonly current: MasterKey,
    previous: MasterKey[] = [],
  ) {
    this.byId = new Map([current, ...previous].map((key) => [key.id, key]));
  }

  get(id: string): MasterKey | undefined {
    return this.byId.get(id);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }
}

export function masterKeyFromBase64(base64: string): MasterKey {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32)
    throw new Error('A credentials master key must be 32 bytes, base64-encoded (openssl rand -base64 32).');
  return { id: 'mk_' + createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

export interface KeyringSource {
  current?: string;
  previous?: string;
  production: boolean;
  dataDir: string;
  warn: (message: string) => void;
}

/**
 * CREDENTIALS_MASTER_KEY when set (required in production). Locally without it, a key is
 * generated once into DATA_DIR/credentials-master-key (mode 600) with a warning: losing that file
 * loses every sealed secret, and it must never be used for real credentials.
 */
export function loadMasterKeyring(source: KeyringSource): MasterKeyring {
  const previous = (source.previous ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)
    .map(masterKeyFromBase64);
  if (source.current) return new MasterKeyring(masterKeyFromBase64(source.current), previous);
  if (source.production) throw new Error('CREDENTIALS_MASTER_KEY is required in production.');

  const file = path.join(source.dataDir, 'credentials-master-key');
  if (!existsSync(file)) {
    mkdirSync(source.dataDir, { recursive: true, mode: 0o711 });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    source.warn(
      `CREDENTIALS_MASTER_KEY is not set: generated a local master key in ${file}. ` +
        'Fine for development and the simulators; set CREDENTIALS_MASTER_KEY for anything real.',
    );
  } else {
    source.warn(`CREDENTIALS_MASTER_KEY is not set: using the local master key in ${file} (development only).`);
  }
  return new MasterKeyring(masterKeyFromBase64(readFileSync(file, 'utf8')), previous);
}
