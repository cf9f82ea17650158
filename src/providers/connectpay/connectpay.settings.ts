import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches } from 'class-validator';
import { HTTPS_URL, blankToUndefined } from '../../config/variable-rules';

/**
 * The environment variables the ConnectPay integration reads, validated at boot with the rest of the
 * configuration (see src/config/environment.ts). Keep `.env.example` and the README's table in step.
 */
export class ConnectPaySettings {
  /** ConnectPay stage mTLS host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_STAGE_MTLS_URL?: string;

  /** ConnectPay stage one-way TLS host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_STAGE_TLS_URL?: string;

  /** ConnectPay production mTLS host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_PROD_MTLS_URL?: string;

  /** ConnectPay production one-way TLS host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_PROD_TLS_URL?: string;

  /** ConnectPay simulator mTLS host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_SIMULATOR_MTLS_URL?: string;

  /** ConnectPay simulator one-way host. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  CONNECTPAY_SIMULATOR_TLS_URL?: string;

  /** ConnectPay X-Signature: separator between method, URL and body (UNCONFIRMED publicly; empty by default). */
  @IsOptional()
  @IsString()
  CONNECTPAY_X_SIGNATURE_SEPARATOR: string = '';

  /** Header that carries ConnectPay's webhook Secret Token (UNCONFIRMED publicly, hence configurable). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9-]+$/, { message: 'must be an HTTP header name' })
  CONNECTPAY_WEBHOOK_TOKEN_HEADER: string = 'X-Secret-Token';

  /** Source addresses allowed to post ConnectPay webhooks, comma-separated; empty allows any (the token still applies). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  CONNECTPAY_WEBHOOK_ALLOWED_IPS?: string;
}
