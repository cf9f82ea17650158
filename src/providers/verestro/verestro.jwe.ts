import { compactDecrypt, CompactEncrypt, importPKCS8, importSPKI } from 'jose';

/**
 * Verestro's JWE for sensitive fields (provider notes): RSA-OAEP-256 key management with A256GCM
 * content encryption, compact serialisation, carried as {"payload":"<JWE>"}.
 */
export const VERESTRO_JWE = { alg: 'RSA-OAEP-256', enc: 'A256GCM' } as const;

export async function encryptForVerestro(payload: unknown, verestroPublicKeyPem: string): Promise<string> {
  const key = await importSPKI(verestroPublicKeyPem, VERESTRO_JWE.alg);
  return new CompactEncrypt(Buffer.from(JSON.stringify(payload), 'utf8'))
    .setProtectedHeader({ ...VERESTRO_JWE, cty: 'application/json' })
    .encrypt(key);
}

export async function decryptFromVerestro<T = unknown>(jwe: string, ourPrivateKeyPem: string): Promise<T> {
  const key = await importPKCS8(ourPrivateKeyPem, VERESTRO_JWE.alg);
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, key, {
    keyManagementAlgorithms: [VERESTRO_JWE.alg],
    contentEncryptionAlgorithms: [VERESTRO_JWE.enc],
  });
  if (protectedHeader.alg !== VERESTRO_JWE.alg || protectedHeader.enc !== VERESTRO_JWE.enc)
    throw new Error('unexpected JWE algorithms');
  return JSON.parse(Buffer.from(plaintext).toString('utf8')) as T;
}
