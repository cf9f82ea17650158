import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { HTTPS_URL, blankToUndefined, toInt } from '../../config/variable-rules';

/**
 * The environment variables the Verestro integration reads, validated at boot with the rest of the
 * configuration (see src/config/environment.ts). Keep `.env.example` and the README's table in step.
 */
export class VerestroSettings {
  /** Verestro sandbox payouts. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  VERESTRO_SANDBOX_URL?: string;

  /** Verestro beta (given with the contract; no default). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  VERESTRO_BETA_URL?: string;

  /** Verestro production (given with the contract; no default). */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  VERESTRO_PRODUCTION_URL?: string;

  /** Verestro simulator. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(HTTPS_URL, { message: 'must be an https:// URL without spaces' })
  VERESTRO_SIMULATOR_URL?: string;

  /**
   * Port of the HTTPS listener for Verestro callbacks (mutual TLS: Verestro presents the
   * certificate we signed from its CSR). Unset: no listener. 0: a free port.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt({ message: 'must be an integer port number (0 picks a free port)' })
  @Min(0, { message: 'must be between 0 and 65535' })
  @Max(65535, { message: 'must be between 0 and 65535' })
  VERESTRO_CALLBACK_PORT?: number;

  /** The callback listener's own TLS certificate and key (PEM files). Unset: one is issued by our callback CA (local use). */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  VERESTRO_CALLBACK_TLS_CERT_FILE?: string;

  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  VERESTRO_CALLBACK_TLS_KEY_FILE?: string;

  /**
   * Common names the Verestro callback CSR may carry, comma-separated (Verestro names its
   * subject at onboarding). Unset: any single plain CN (checked: RSA >= 2048 or EC P-256+).
   */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^[^,]{1,64}(,[^,]{1,64})*$/, { message: 'must be comma-separated common names of at most 64 characters' })
  VERESTRO_CALLBACK_CSR_CN?: string;
}
