import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto } from './error-body.dto';

/**
 * The answers a route gets when it calls a provider during the request and the provider is at
 * fault (the statuses ProviderError maps to in provider.port.ts). Routes that only read our own
 * database never answer these. The 503 also covers DATABASE_BUSY, which every /v1 route can answer.
 */
export function ApiProviderErrors(): MethodDecorator {
  return applyDecorators(
    ApiResponse({
      status: 502,
      type: ErrorBodyDto,
      description:
        'PROVIDER_AUTH_FAILED (the provider refused our credential) or PROVIDER_PROTOCOL_ERROR (its answer is not what its API documents).',
    }),
    ApiResponse({
      status: 503,
      type: ErrorBodyDto,
      description:
        'PROVIDER_UNAVAILABLE (unreachable or a server error), CIRCUIT_OPEN (calls paused after repeated failures), or DATABASE_BUSY (send it again after Retry-After).',
      headers: {
        'Retry-After': {
          description: 'Seconds to wait before sending the request again (sent with DATABASE_BUSY).',
          schema: { type: 'integer', minimum: 0 },
        },
      },
    }),
    ApiResponse({
      status: 504,
      type: ErrorBodyDto,
      description: 'PROVIDER_TIMEOUT: the provider did not answer in time.',
    }),
  );
}
