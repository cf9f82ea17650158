import { ApiProperty } from '@nestjs/swagger';

class ErrorDetailDto {
  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable, UPPER_SNAKE error code to branch on.' })
  code!: string;

  @ApiProperty({ example: 'The request has 1 invalid field: name must be shorter than or equal to 100 characters.' })
  message!: string;

  @ApiProperty({
    nullable: true,
    description: 'Structured context; for VALIDATION_FAILED a list of {field, code, message}.',
    example: [{ field: 'name', code: 'MAX_LENGTH', message: 'must be shorter than or equal to 100 characters' }],
  })
  details!: unknown;
}

/** The shape of every error response. */
export class ErrorBodyDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}
