import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches } from 'class-validator';
import { HTTPS_URL, blankToUndefined } from '../../config/variable-rules';

/**
 * The environment variables the D24 integration reads, validated at boot with the rest of the
 * configuration (see src/config/environment.ts). Keep `.env.example` and the README's table in step.
 */
export class D24Settings {
  /** D24 staging (default https://api-stg.directa24.com). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  D24_STG_URL?: string;

  /** D24 production (default https://api.directa24.com). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  D24_PROD_URL?: string;

  /** D24 simulator (default https://127.0.0.1:4101; set by npm start when it runs the simulators). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  D24_SIMULATOR_URL?: string;

  /** D24 notification `control` affixes: "Be4" + external_id + "Bo7" (UNCONFIRMED whether per merchant). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  D24_CONTROL_PREFIX: string = 'Be4';

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  D24_CONTROL_SUFFIX: string = 'Bo7';

  /**
   * Source addresses D24 posts notifications from (ask integration@d24.com for them), comma-
   * separated; a notification from any other address is refused before its control string is
   * checked. Empty allows any (the control string still applies).
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  D24_NOTIFICATION_ALLOWED_IPS?: string;
}
