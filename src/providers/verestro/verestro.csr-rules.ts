import { isValid as isIsoCountry } from 'i18n-iso-countries';
import type { VerestroEnvironment } from './verestro.descriptor';
import type { SubjectAttributes } from '../../credentials/x509/x509';

/**
 * Verestro's CSR rules (seed 000), made executable. Every rule that fails is reported, with the
 * field and a stable code, so an operator fixes everything in one go.
 */
export interface VerestroCsrInput {
  environment: VerestroEnvironment;
  country: string;
  state: string;
  locality: string;
  organization: string;
  companyName: string;
  applicationName: string;
  email: string;
  keyBits: number;
}

export type { RuleViolation } from '../../credentials/onboarding/rule-violation';
import type { RuleViolation } from '../../credentials/onboarding/rule-violation';

export const VERESTRO_KEY_SIZES = [2048, 3072, 4096] as const;
export const VERESTRO_OU = 'main';

/** X.520 upper bounds (RFC 5280 appendix A): longer values make CAs reject the request. */
const MAX_LENGTH = { state: 128, locality: 128, organization: 64, email: 128, commonName: 64 } as const;
const NAME_PART = /^[A-Za-z][A-Za-z0-9]*$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Sandbox CNs carry the SBX marker; the local simulator stands in for the sandbox. */
export function commonNamePrefix(environment: VerestroEnvironment): string {
  return environment === 'sandbox' || environment === 'simulator' ? 'V-SBX-' : 'V-';
}

/** "First letter up case, all other letters lower case" (seed 000). */
export function companyNameForCn(companyName: string): string {
  return companyName.charAt(0).toUpperCase() + companyName.slice(1).toLowerCase();
}

export function verestroCommonName(
  environment: VerestroEnvironment,
  companyName: string,
  applicationName: string,
): string {
  return `${commonNamePrefix(environment)}${companyNameForCn(companyName)}-${applicationName}`;
}

/** Beta and production must carry the same CN; sandbox and the simulator are separate worlds. */
export function counterpartEnvironment(environment: VerestroEnvironment): VerestroEnvironment | null {
  return environment === 'beta' ? 'production' : environment === 'production' ? 'beta' : null;
}

export function checkVerestroCsr(input: VerestroCsrInput): { violations: RuleViolation[]; subject: SubjectAttributes } {
  const violations: RuleViolation[] = [];
  const violate = (field: string, code: string, message: string) => violations.push({ field, code, message });

  const textFields: Array<[keyof VerestroCsrInput, string]> = [
    ['country', input.country],
    ['state', input.state],
    ['locality', input.locality],
    ['organization', input.organization],
    ['companyName', input.companyName],
    ['applicationName', input.applicationName],
    ['email', input.email],
  ];
  for (const [field, value] of textFields) {
    if (value.trim() === '') violate(field, 'REQUIRED', 'must not be empty');
    if (value.includes(','))
      violate(field, 'COMMA_NOT_ALLOWED', 'must not contain a comma (Verestro refuses commas in every CSR field)');
    if (CONTROL.test(value))
      violate(field, 'CONTROL_CHARACTER', 'must not contain control characters such as line breaks or tabs');
    if (value !== value.trim()) violate(field, 'SURROUNDING_SPACES', 'must not start or end with spaces');
  }

  const country = input.country.toUpperCase();
  if (input.country !== '' && !(/^[A-Z]{2}$/.test(country) && isIsoCountry(country))) {
    violate(
      'country',
      'COUNTRY_NOT_ISO_3166_ALPHA2',
      'must be a two-letter ISO 3166-1 alpha-2 country code, such as US or PL',
    );
  }
  if (input.companyName !== '' && !NAME_PART.test(input.companyName)) {
    violate(
      'companyName',
      'COMPANY_NAME_CHARACTERS',
      'must be letters and digits only, starting with a letter: no spaces or special characters (it becomes part of the CN)',
    );
  }
  if (input.applicationName !== '' && !NAME_PART.test(input.applicationName)) {
    violate(
      'applicationName',
      'APPLICATION_NAME_CHARACTERS',
      'must be letters and digits only, starting with a letter: no spaces, hyphens or special characters (the CN separates its parts with hyphens)',
    );
  }
  if (input.email !== '' && !EMAIL.test(input.email)) {
    violate('email', 'EMAIL_INVALID', 'must be an e-mail address (Verestro writes to it before a forced renewal)');
  }
  for (const field of ['state', 'locality', 'organization', 'email'] as const) {
    if (input[field].length > MAX_LENGTH[field])
      violate(field, 'TOO_LONG', `must be at most ${MAX_LENGTH[field]} characters`);
  }
  if (input.keyBits < 2048) {
    violate('keyBits', 'KEY_TOO_SHORT', "must be at least 2048 (Verestro's minimum RSA key length)");
  } else if (!(VERESTRO_KEY_SIZES as readonly number[]).includes(input.keyBits)) {
    violate('keyBits', 'KEY_SIZE_UNSUPPORTED', `must be one of ${VERESTRO_KEY_SIZES.join(', ')}`);
  }

  const commonName = verestroCommonName(input.environment, input.companyName, input.applicationName);
  if (commonName.length > MAX_LENGTH.commonName) {
    violate(
      'applicationName',
      'CN_TOO_LONG',
      `makes the CN ${commonName.length} characters long; a CN may have at most ${MAX_LENGTH.commonName}. Shorten the company or application name`,
    );
  }

  return {
    violations,
    subject: {
      C: country,
      ST: input.state,
      L: input.locality,
      O: input.organization,
      OU: VERESTRO_OU,
      CN: commonName,
      emailAddress: input.email,
    },
  };
}
