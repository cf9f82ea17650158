import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request a line is written for: what the service's own lines inside it carry as `req`. */
interface RequestScope {
  id: string;
  method: string;
  url: string;
}

const requestScope = new AsyncLocalStorage<RequestScope>();

/** The fields a line written inside a request carries (pino's mixin): which request it was. */
export function requestScopeFields(): { req?: RequestScope } {
  const scope = requestScope.getStore();
  return scope ? { req: scope } : {};
}

export type ScopedRequest = IncomingMessage & { id?: unknown; originalUrl?: string };

/**
 * Enters the request's scope for everything after it: guards, handlers, services, provider calls.
 * Installed after the body parsers: a scope entered before them would be lost when the body's
 * last chunk arrives (that callback runs in the socket's context, not the request's).
 */
export function bindRequestScope(request: ScopedRequest, _response: ServerResponse, next: () => void): void {
  requestScope.run(
    {
      id: typeof request.id === 'string' ? request.id : '',
      method: request.method ?? '',
      url: request.originalUrl ?? request.url ?? '',
    },
    next,
  );
}
