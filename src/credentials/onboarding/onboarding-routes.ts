import { ApiBadRequestResponse, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { Principal } from '../../common/auth/scopes';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import type { Actor } from '../domain/credential';

/** Decorators and helpers shared by the generic credential routes and each provider's onboarding routes. */

export const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, name: principal.name });

export const Rejected = (description: string) => ApiUnprocessableEntityResponse({ type: ErrorBodyDto, description });

export const Invalid = () =>
  ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'VALIDATION_FAILED: a field is missing or of the wrong type.',
  });
