import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MasterKeyring } from './master-keyring';

/**
 * Envelope encryption. Each credential's secret is encrypted with its own random data key
 * (AES-256-GCM); the data key is encrypted ("wrapped") with the master key. Rotating the master
 * key re-wraps 32-byte data keys and never touches the secrets themselves.
 *
 * Both layers bind associated data: the secret to its credential id, the wrapped key to its
 * credential id and master key id. A ciphertext copied onto another row does not decrypt.
 */
export interface SealedSecret {
  masterKeyId: string;
  wrappedDataKey: Buffer;
  ciphertext: Buffer;
}

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

function encrypt(key: Buffer, plaintext: Buffer, aad: string, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_VERSION), iv, cipher.getAuthTag(), body]);
}

function decrypt(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed[0] !== FORMAT_VERSION) throw new SealedSecretError('unknown sealed format version');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new SealedSecretError('authentication failed: wrong key, or the sealed data was altered or moved');
  }
}

/** Never carries secret material in its message. */
export class SealedSecretError extends Error {
  constructor(reason: string) {
    super(`Could not open a sealed secret: ${reason}.`);
    this.name = 'SealedSecretError';
  }
}

const secretAad = (credentialId: string) => `credential-secret:${credentialId}`;
const dataKeyAad = (credentialId: string, masterKeyId: string) => `data-key:${credentialId}:${masterKeyId}`;

export function seal(keyring: MasterKeyring, credentialId: string, plaintext: Buffer): SealedSecret {
  // The data key and both IVs in one draw: each call to the CSPRNG costs far more than its bytes,
  // and payouts seal on their hot path. (The IVs are copied into the output before the fill.)
  const random = randomBytes(32 + 2 * IV_BYTES);
  const dataKey = random.subarray(0, 32);
  try {
    const master = keyring.current;
    return {
      masterKeyId: master.id,
      wrappedDataKey: encrypt(
        master.key,
        dataKey,
        dataKeyAad(credentialId, master.id),
        random.subarray(32, 32 + IV_BYTES),
      ),
      ciphertext: encrypt(dataKey, plaintext, secretAad(credentialId), random.subarray(32 + IV_BYTES)),
    };
  } finally {
    random.fill(0);
  }
}

function unwrapDataKey(keyring: MasterKeyring, credentialId: string, sealed: SealedSecret): Buffer {
  const master = keyring.get(sealed.masterKeyId);
  if (!master) {
    throw new SealedSecretError(
      `it is wrapped by master key ${sealed.masterKeyId}, which is neither CREDENTIALS_MASTER_KEY nor in CREDENTIALS_MASTER_KEY_PREVIOUS`,
    );
  }
  return decrypt(master.key, sealed.wrappedDataKey, dataKeyAad(credentialId, master.id));
}

export function open(keyring: MasterKeyring, credentialId: string, sealed: SealedSecret): Buffer {
  const dataKey = unwrapDataKey(keyring, credentialId, sealed);
  try {
    return decrypt(dataKey, sealed.ciphertext, secretAad(credentialId));
  } finally {
    dataKey.fill(0);
  }
}

/**
 * What `attempt` (an open or rewrap) answers, or null when the sealed data cannot be opened: its
 * master key is not in the keyring, or it was altered or moved. Any other error is thrown.
 */
export function unlessUnopenable<T>(attempt: () => T): T | null {
  try {
    return attempt();
  } catch (error) {
    if (error instanceof SealedSecretError) return null;
    throw error;
  }
}

/** Re-wraps the data key under the current master key; the secret's ciphertext is unchanged. */
export function rewrap(keyring: MasterKeyring, credentialId: string, sealed: SealedSecret): SealedSecret {
  const dataKey = unwrapDataKey(keyring, credentialId, sealed);
  try {
    const master = keyring.current;
    return {
      masterKeyId: master.id,
      wrappedDataKey: encrypt(master.key, dataKey, dataKeyAad(credentialId, master.id)),
      ciphertext: sealed.ciphertext,
    };
  } finally {
    dataKey.fill(0);
  }
}
