import { HttpStatus } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import type { InboundWebhook } from '../providers/provider.port';

/** What the webhook routes receive: Express's request with the exact body bytes kept for verification. */
export type RawRequest = Request & { rawBody?: Buffer };

/** Answered to anything that does not verify: no hint of why. */
export const unverifiable = () =>
  new ApiError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHENTICATED, 'The notification could not be verified.');

/** The client address is Express's request.ip, so TRUST_PROXY decides whether X-Forwarded-For counts. */
export function inbound(request: RawRequest): InboundWebhook {
  return {
    headers: request.headers,
    rawBody: request.rawBody ?? Buffer.alloc(0),
    remoteAddress: request.ip ?? request.socket.remoteAddress,
  };
}
