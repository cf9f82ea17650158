import { webcrypto } from 'node:crypto';

export const RSA_SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface GeneratedKeyPair {
  keys: webcrypto.CryptoKeyPair;
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * RSA key generation runs on libuv's thread pool (WebCrypto jobs are asynchronous), so the event
 * loop keeps serving requests. At most two run at once: the pool has four threads by default and
 * file system, DNS and zlib work must not queue behind a burst of 4096-bit keys.
 */
const MAX_CONCURRENT_KEY_GENERATIONS = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function withKeyGenerationSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_KEY_GENERATIONS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function toPem(label: string, der: ArrayBuffer | Buffer): string {
  const base64 = Buffer.from(der as ArrayBuffer).toString('base64');
  return `-----BEGIN ${label}-----\n${base64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export function generateRsaKeyPair(bits: number): Promise<GeneratedKeyPair> {
  return withKeyGenerationSlot(async () => {
    const keys = await webcrypto.subtle.generateKey(
      { ...RSA_SIGNING, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) },
      true,
      ['sign', 'verify'],
    );
    const [pkcs8, spki] = await Promise.all([
      webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
      webcrypto.subtle.exportKey('spki', keys.publicKey),
    ]);
    return { keys, privateKeyPem: toPem('PRIVATE KEY', pkcs8), publicKeyPem: toPem('PUBLIC KEY', spki) };
  });
}
