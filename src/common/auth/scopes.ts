/** What an API key may do. A route names the scopes it needs; a key must hold all of them. */
export const SCOPES = [
  'payouts:read',
  'payouts:write',
  'payouts:approve',
  'beneficiaries:read',
  'beneficiaries:write',
  'policies:read',
  'policies:write',
  'audit:read',
  'accounts:read',
  'credentials:admin',
  'keys:admin',
  'metrics:read',
] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the API key that authenticated the request. Never holds the key itself. */
export interface Principal {
  keyId: string;
  name: string;
  /**
   * Who acts, for maker-checker and the audit: the key's owner, or `key:<id>` for a key made
   * before owners existed. Two keys of one owner are one principal.
   */
  principal: string;
  scopes: readonly Scope[];
}

/** The principal a key acts as (see Principal.principal). */
export function principalOfKey(key: { id: string; owner: string | null }): string {
  return key.owner ?? `key:${key.id}`;
}

/** Whether the key has an owner: a key made before owners existed acts as `key:<id>`, nobody's decision. */
export function hasOwner(principal: Pick<Principal, 'principal'>): boolean {
  return !principal.principal.startsWith('key:');
}
