import { createHash, randomBytes } from 'node:crypto';
import type { Scope } from '../common/auth/scopes';

/** Where a key came from: created through the API, ensured from ADMIN_API_KEY, or generated at first start. */
export type ApiKeySource = 'api' | 'environment' | 'bootstrap';

/** An API key as the domain sees it. The key itself is never stored or held here, only its hash. */
export interface ApiKey {
  id: string;
  name: string;
  /** The person or service holding the key; null for keys made before owners existed. */
  owner: string | null;
  /** The first characters of the key, safe to show: lets an operator tell keys apart. */
  prefix: string;
  lastFour: string;
  scopes: Scope[];
  source: ApiKeySource;
  createdAt: Date;
  createdByKeyId: string | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const KEY_PREFIX = 'pbk_';
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 8;

/** A new random key: 192 bits of entropy, URL-safe, recognisable by its prefix in logs and secret scanners. */
export function generateApiKeySecret(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

/**
 * Keys are high-entropy random strings, so one SHA-256 is the right hash: a slow password
 * hash would add latency to every request and protect nothing more.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function displayParts(key: string): { prefix: string; lastFour: string } {
  return { prefix: key.slice(0, Math.min(DISPLAY_PREFIX_LENGTH, key.length - 4)), lastFour: key.slice(-4) };
}

export function maskedKey(key: Pick<ApiKey, 'prefix' | 'lastFour'>): string {
  return `${key.prefix}…${key.lastFour}`;
}

export function isActive(key: ApiKey, now = new Date()): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}
