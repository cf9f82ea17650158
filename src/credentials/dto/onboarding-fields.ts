import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';

/** Fields shared by every provider's onboarding DTOs. */

/** Generous upper bound on any PEM field: a long chain is a few kilobytes. */
export const MAX_PEM = 65_536;
export const NO_WHITESPACE = /^\S+$/;

export class LabelledDto {
  @ApiPropertyOptional({ description: 'A name for operators; defaults to something descriptive.', maxLength: 100 })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  label?: string;
}
