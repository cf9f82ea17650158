import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { CursorPageQueryDto } from '../../common/http/cursor-page-query.dto';
import type { AuditRecord } from '../audit-trail';

export const AUDIT_SUBJECT_TYPES = [
  'api_key',
  'credential',
  'payout_policies',
  'beneficiary',
  'payout',
  'payout_batch',
] as const;

export class ListAuditQueryDto extends CursorPageQueryDto {
  @ApiPropertyOptional({ example: 'payout.approved', description: 'Only this action.' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z_]+\.[a-z_]+$/, { message: 'must look like subject.verb, e.g. payout.approved' })
  action?: string;

  @ApiPropertyOptional({ enum: AUDIT_SUBJECT_TYPES })
  @IsOptional()
  @IsIn(AUDIT_SUBJECT_TYPES)
  subjectType?: string;

  @ApiPropertyOptional({ description: 'Only actions on this subject (a payout, key, credential or beneficiary id).' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  subjectId?: string;

  @ApiPropertyOptional({
    example: 'ana.silva@acme.example',
    description: 'Only actions by this principal (a key owner, or key:<id>).',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  actor?: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'Actions at or after this instant.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  occurredFrom?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'Actions before this instant.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  occurredTo?: Date;
}

export class AuditActorDto {
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: the service itself.' })
  keyId!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The key owner, key:<id>, or null for the service itself.',
  })
  principal!: string | null;
}

export class AuditEventDto {
  @ApiProperty({ example: '1042' })
  id!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  occurredAt!: string;

  @ApiProperty({ example: 'payout.approved' })
  action!: string;

  @ApiProperty({ enum: AUDIT_SUBJECT_TYPES })
  subjectType!: string;

  @ApiProperty({ type: String, nullable: true })
  subjectId!: string | null;

  @ApiProperty({ type: AuditActorDto })
  actor!: AuditActorDto;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What changed; never a secret.' })
  detail!: Record<string, unknown>;

  static from(record: AuditRecord): AuditEventDto {
    return {
      id: record.id,
      occurredAt: record.occurredAt.toISOString(),
      action: record.action,
      subjectType: record.subjectType,
      subjectId: record.subjectId,
      actor: { keyId: record.actor.keyId, principal: record.actor.principal },
      detail: record.detail,
    };
  }
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEventDto] })
  items!: AuditEventDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page; null on the last.',
  })
  nextCursor!: string | null;
}
