import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import { Authenticator } from './authenticator';
import { PUBLIC_ROUTE, REQUIRED_SCOPES } from './auth.decorators';
import type { Principal, Scope } from './scopes';

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Global guard. Fails closed: a route that declares neither @Public() nor @RequireScopes()
 * is refused, so a forgotten decorator cannot open an endpoint.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const header = request.headers.authorization;
    if (!header) {
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.UNAUTHENTICATED,
        'This route needs an API key. Send it as "Authorization: Bearer <key>".',
      );
    }
    const match = BEARER.exec(header);
    const principal = match ? await this.authenticator.authenticate(match[1]) : null;
    if (!principal) {
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.UNAUTHENTICATED,
        'The API key is not valid: it is unknown, expired or revoked. Send an active key as "Authorization: Bearer <key>".',
      );
    }
    request.principal = principal;

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
