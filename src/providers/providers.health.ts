import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { CredentialedHttp } from './http/credentialed-http';

/** A provider whose circuit is open degrades the service (others still work); it is not "down". */
@Injectable()
export class ProvidersHealthIndicator {
  constructor(
    private readonly http: CredentialedHttp,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check(key: string) {
    const indicator = this.indicators.check(key);
    const circuits = this.http.circuitStates();
    const open = Object.entries(circuits)
      .filter(([, state]) => state !== 'closed')
      .map(([name]) => name);
    if (Object.keys(circuits).length === 0) return indicator.up();
    return indicator.up(
      open.length > 0
        ? { degraded: true, message: `calls to ${open.join(', ')} are paused after repeated failures`, circuits }
        : { circuits },
    );
  }
}
