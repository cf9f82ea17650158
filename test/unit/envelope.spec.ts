import { randomBytes } from 'node:crypto';
import { open, rewrap, seal, SealedSecretError } from '../../src/credentials/crypto/envelope';
import { masterKeyFromBase64, MasterKeyring } from '../../src/credentials/crypto/master-keyring';

const keyA = masterKeyFromBase64(randomBytes(32).toString('base64'));
const keyB = masterKeyFromBase64(randomBytes(32).toString('base64'));
const secret = Buffer.from(JSON.stringify({ apiSignature: 'very-secret-signature' }));

describe('envelope encryption', () => {
  it('round-trips and never holds the plaintext or the data key in clear', () => {
    const keyring = new MasterKeyring(keyA);
    const sealed = seal(keyring, 'c1', secret);
    expect(sealed.masterKeyId).toBe(keyA.id);
    expect(sealed.ciphertext.includes(Buffer.from('very-secret-signature'))).toBe(false);
    expect(open(keyring, 'c1', sealed).equals(secret)).toBe(true);
  });

  it('refuses a ciphertext moved to another credential (associated data binds it)', () => {
    const keyring = new MasterKeyring(keyA);
    const sealed = seal(keyring, 'c1', secret);
    expect(() => open(keyring, 'c2', sealed)).toThrow(SealedSecretError);
  });

  it('refuses tampered ciphertext or wrapped keys', () => {
    const keyring = new MasterKeyring(keyA);
    const sealed = seal(keyring, 'c1', secret);
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[flipped.length - 1] ^= 1;
    expect(() => open(keyring, 'c1', { ...sealed, ciphertext: flipped })).toThrow(SealedSecretError);
    const wrapped = Buffer.from(sealed.wrappedDataKey);
    wrapped[20] ^= 1;
    expect(() => open(keyring, 'c1', { ...sealed, wrappedDataKey: wrapped })).toThrow(SealedSecretError);
  });

  it('re-wraps under a new master key without touching the ciphertext; the old key is then not needed', () => {
    const sealed = seal(new MasterKeyring(keyA), 'c1', secret);
    const rotating = new MasterKeyring(keyB, [keyA]);
    expect(open(rotating, 'c1', sealed).equals(secret)).toBe(true);
    const rewrapped = rewrap(rotating, 'c1', sealed);
    expect(rewrapped.masterKeyId).toBe(keyB.id);
    expect(rewrapped.ciphertext.equals(sealed.ciphertext)).toBe(true);
    expect(open(new MasterKeyring(keyB), 'c1', rewrapped).equals(secret)).toBe(true);
    expect(() => open(new MasterKeyring(keyB), 'c1', sealed)).toThrow(
      /neither CREDENTIALS_MASTER_KEY nor in CREDENTIALS_MASTER_KEY_PREVIOUS/,
    );
  });

  it('error messages never include key material', () => {
    const sealed = seal(new MasterKeyring(keyA), 'c1', secret);
    try {
      open(new MasterKeyring(keyB), 'c1', sealed);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).not.toContain(keyA.key.toString('base64'));
      expect(message).not.toContain(keyB.key.toString('base64'));
    }
  });
});
