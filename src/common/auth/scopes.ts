/** What an API key may do. A route names the scopes it needs; a key must hold all of them. */
export const SCOPES = [
  'payouts:read',
  'payouts:write',
  'beneficiaries:read',
  'beneficiaries:write',
  'accounts:read',
  'credentials:admin',
  'keys:admin',
] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the API key that authenticated the request. Never holds the key itself. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: readonly Scope[];
}
