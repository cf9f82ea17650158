import { Injectable } from '@nestjs/common';
import { ProviderError } from '../provider.port';
import { ProviderRegistry } from '../provider.registry';
import type { D24Environment } from './d24.descriptor';
import type { D24Bank } from './d24.mapper';
import type { D24Provider } from './d24.provider';

/** Bank lists change a few times a year; an hour keeps a beneficiary form fast without going stale. */
const BANKS_TTL_MS = 60 * 60 * 1000;
/**
 * D24's refusal of a country (one it does not serve for us) is kept this long: without it, every
 * request for such a country would be a call to D24. Short, so enabling a country shows soon.
 */
const REFUSAL_TTL_MS = 5 * 60 * 1000;

export interface D24BankList {
  environment: D24Environment;
  country: string;
  banks: D24Bank[];
  /** When D24 answered this list (it is served from the cache until an hour after). */
  fetchedAt: Date;
}

/**
 * D24's banks per country (GET /v3/banks with the read-only key), cached per environment and
 * country for an hour, one request in flight per pair: a form that asks for the banks of BR on
 * every keystroke costs D24 one call an hour. D24's refusal of a country is kept for five minutes;
 * other failures (timeouts, credentials) are not kept, so the next request tries again.
 */
@Injectable()
export class D24Banks {
  private readonly lists = new Map<string, { until: number; list: Promise<D24BankList> }>();

  constructor(private readonly registry: ProviderRegistry) {}

  list(environment: D24Environment, country: string): Promise<D24BankList> {
    const key = `${environment}:${country}`;
    const cached = this.lists.get(key);
    if (cached && cached.until > Date.now()) return cached.list;
    const list = (this.registry.get('d24', environment) as D24Provider)
      .listBanks(country)
      .then((banks) => ({ environment, country, banks, fetchedAt: new Date() }));
    this.lists.set(key, { until: Date.now() + BANKS_TTL_MS, list });
    list.catch((error: unknown) => {
      if (this.lists.get(key)?.list !== list) return;
      // Only "country not available" (518) is an answer about the country; any other refusal may be passing.
      if (error instanceof ProviderError && error.reason === 'COUNTRY_NOT_AVAILABLE')
        this.lists.set(key, { until: Date.now() + REFUSAL_TTL_MS, list });
      else this.lists.delete(key);
    });
    return list;
  }
}
