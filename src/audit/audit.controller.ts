import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../common/auth/auth.decorators';
import { decodeIdCursor, encodeIdCursor } from '../common/http/id-cursor';
import { AuditTrail } from './audit-trail';
import { AuditEventDto, AuditPageDto, ListAuditQueryDto } from './dto/audit.dto';

@ApiTags('Audit')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditTrail) {}

  @Get()
  @RequireScopes('audit:read')
  @ApiOperation({
    summary: 'List operator actions',
    description:
      'Append-only: keys created and revoked, credential changes, payout policies replaced, beneficiaries stored and disabled, ' +
      'payout approvals, rejections, expiries, cancels, holds and releases. Each names the principal (key owner) and key that acted. ' +
      'Newest first, filtered, with cursor pagination.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  async list(@Query() query: ListAuditQueryDto): Promise<AuditPageDto> {
    const limit = query.limit ?? 20;
    const rows = await this.audit.page({
      ...query,
      beforeId: query.cursor && decodeIdCursor('a', query.cursor),
      limit,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => AuditEventDto.from(row)),
      nextCursor: rows.length > limit ? encodeIdCursor('a', page[page.length - 1].id) : null,
    };
  }
}
