import type { ExecutionContext } from '@nestjs/common';
import { createParamDecorator, SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Principal, Scope } from './scopes';
import { ErrorBodyDto } from '../errors/error-body.dto';

export const REQUIRED_SCOPES = 'auth:requiredScopes';
export const PUBLIC_ROUTE = 'auth:public';

/** The route is reachable without an API key (health probes only). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The route needs an API key holding every scope listed. */
export function RequireScopes(...scopes: Scope[]) {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    ApiBearerAuth('api-key'),
    ApiUnauthorizedResponse({
      description: 'Missing, unknown, expired or revoked API key (UNAUTHENTICATED).',
      type: ErrorBodyDto,
    }),
    ApiForbiddenResponse({
      description: `The API key lacks a required scope (${scopes.join(', ')}) (FORBIDDEN_SCOPE).`,
      type: ErrorBodyDto,
    }),
  );
}

/** Injects the authenticated caller into a controller method. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ principal: Principal }>().principal;
});
