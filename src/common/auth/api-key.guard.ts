import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Environment } from '../../config/environment';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { clientBucket, RateLimiter } from '../rate-limit/rate-limiter';
import { Authenticator } from './authenticator';
import { PUBLIC_ROUTE, REQUIRED_SCOPES } from './auth.decorators';
import type { Principal, Scope } from './scopes';

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Global guard. Fails closed: a route that declares neither @Public() nor @RequireScopes()
 * is refused, so a forgotten decorator cannot open an endpoint.
 *
 * Rate limits (cluster-wide, see RateLimiter): a client address that failed authentication too
 * often in the window is refused before its key is even looked at, so guessing keys costs the
 * guesser a window per few tries and us nothing; an authenticated key has a request budget.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly limiter: RateLimiter,
    private readonly environment: Environment,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const failures = `auth-failures:${clientBucket(request.ip)}`;
    const failureLimit = this.environment.RATE_LIMIT_AUTH_FAILURES;
    const blocked = this.limiter.check(failures, failureLimit);
    if (!blocked.allowed) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        ErrorCode.TOO_MANY_FAILED_AUTHENTICATIONS,
        'Too many requests from this address failed authentication. Wait for the time in Retry-After, then send a valid API key.',
      ).retryAfter(blocked.retryAfterMs);
    }
    const header = request.headers.authorization;
    if (!header) {
      // Not counted: a request without a key guesses nothing and costs no lookup.
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.UNAUTHENTICATED,
        'This route needs an API key. Send it as "Authorization: Bearer <key>".',
      );
    }
    const match = BEARER.exec(header);
    const principal = match ? await this.authenticator.authenticate(match[1]) : null;
    if (!principal) {
      this.limiter.count(failures);
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.UNAUTHENTICATED,
        'The API key is not valid: it is unknown, expired or revoked. Send an active key as "Authorization: Bearer <key>".',
      );
    }
    request.principal = principal;
    const budget = this.limiter.take(`key:${principal.keyId}`, this.environment.RATE_LIMIT_PER_KEY);
    if (!budget.allowed) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        ErrorCode.RATE_LIMITED,
        `This API key sent more than ${this.environment.RATE_LIMIT_PER_KEY} requests in ${this.environment.RATE_LIMIT_WINDOW_MS / 1000} s. Wait for the time in Retry-After, or spread the load over time.`,
        { limit: this.environment.RATE_LIMIT_PER_KEY, windowSeconds: this.environment.RATE_LIMIT_WINDOW_MS / 1000 },
      ).retryAfter(budget.retryAfterMs);
    }

    const required = this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets);
    if (!required || required.length === 0) {
      throw new ApiError(HttpStatus.FORBIDDEN, ErrorCode.FORBIDDEN_SCOPE, 'This route is not open to API keys.');
    }
    const missing = required.filter((scope) => !principal.scopes.includes(scope));
    if (missing.length > 0) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        ErrorCode.FORBIDDEN_SCOPE,
        `This API key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. Use a key that has ${
          missing.length > 1 ? 'them' : 'it'
        }, or ask a keys:admin holder to create one.`,
        { requiredScopes: required, missingScopes: missing },
      );
    }
    return true;
  }
}
