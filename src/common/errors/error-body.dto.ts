import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { ErrorCode } from './error-codes';

/** One problem with one field: VALIDATION_FAILED, CSR_RULES_VIOLATED, CERTIFICATE_REJECTED and CSR_REJECTED list these. */
export class FieldProblemDto {
  @ApiProperty({ example: 'beneficiary.iban', description: 'The field to fix, as a dotted path into the request.' })
  field!: string;

  @ApiProperty({ example: 'MAX_LENGTH', description: 'Stable, UPPER_SNAKE code of the broken rule.' })
  code!: string;

  @ApiProperty({ example: 'must be shorter than or equal to 34 characters' })
  message!: string;
}

@ApiExtraModels(FieldProblemDto)
export class ErrorDetailDto {
  @ApiProperty({
    enum: Object.values(ErrorCode),
    enumName: 'ErrorCode',
    example: 'VALIDATION_FAILED',
    description: 'Stable error code to branch on; the README lists what each means. New codes may be added.',
  })
  code!: ErrorCode;

  @ApiProperty({
    example: 'The request has 1 invalid field: name must be shorter than or equal to 100 characters.',
    description: 'One or more sentences for a person: what is wrong and what to do.',
  })
  message!: string;

  @ApiProperty({
    description:
      'A list of field problems for VALIDATION_FAILED, CSR_RULES_VIOLATED, CERTIFICATE_REJECTED and CSR_REJECTED; ' +
      'an object of named facts for other codes (e.g. `capability`, `providerCode` and `reason`, `findings`, `limitBytes`); null when there is nothing more to say.',
    anyOf: [
      { type: 'array', items: { $ref: getSchemaPath(FieldProblemDto) } },
      { type: 'object', additionalProperties: true },
      { type: 'null' },
    ],
    example: [{ field: 'name', code: 'MAX_LENGTH', message: 'must be shorter than or equal to 100 characters' }],
  })
  details!: FieldProblemDto[] | Record<string, unknown> | null;
}

/** The shape of every error response. */
export class ErrorBodyDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}
