import type { PipeTransform } from '@nestjs/common';
import { ApiError } from '../errors/api-error';

/** Parses a path id that is a bigint (1 to 18 digits, so it always fits); anything else is a VALIDATION_FAILED on that parameter. */
export function digitsParam(name: string): PipeTransform<string, string> {
  return {
    transform(value: string): string {
      if (!/^[0-9]{1,18}$/.test(value))
        throw ApiError.validation([{ field: name, code: 'IS_DIGITS', message: 'must be a number of 1 to 18 digits' }]);
      return value;
    },
  };
}
