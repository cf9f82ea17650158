import type { ValidationError } from 'class-validator';
import type { FieldProblem } from './api-error';
import { ApiError } from './api-error';

/** Flattens class-validator's nested errors into one problem per field and rule. */
export function toFieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      code: rule === 'whitelistValidation' ? 'UNKNOWN_FIELD' : camelToUpperSnake(rule),
      message:
        rule === 'whitelistValidation' ? 'is not a known field; remove it' : stripProperty(message, error.property),
    }));
    return [...own, ...toFieldProblems(error.children ?? [], field)];
  });
}

/** The ValidationPipe's exceptionFactory: every DTO problem becomes VALIDATION_FAILED with per-field details. */
export function validationExceptionFactory(errors: ValidationError[]): ApiError {
  return ApiError.validation(toFieldProblems(errors));
}

function camelToUpperSnake(rule: string): string {
  return rule.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** class-validator prefixes messages with the property name; the field is already reported separately. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(property + ' ') ? message.slice(property.length + 1) : message;
}
