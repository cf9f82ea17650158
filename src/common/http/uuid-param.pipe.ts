import { ParseUUIDPipe } from '@nestjs/common';
import { ApiError } from '../errors/api-error';

/** Parses a path id as a UUID; anything else is a VALIDATION_FAILED on that parameter. */
export function uuidParam(name = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () => ApiError.validation([{ field: name, code: 'IS_UUID', message: 'must be a UUID' }]),
  });
}
