import type { Principal } from './scopes';

/** DI token: turns a presented bearer token into a Principal, or null when it is not a valid key. */
export abstract class Authenticator {
  abstract authenticate(token: string): Promise<Principal | null>;
}
