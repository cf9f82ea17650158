import type { CsrFacts } from '../../credentials/x509/x509';
import type { RuleViolation } from '../../credentials/onboarding/rule-violation';

/**
 * What our Verestro callback CA agrees to sign. The CA is trusted by the callback listener, so
 * every certificate it issues is a key to that door: only a strong key, and a plain subject that
 * reads the same in every tool (one CN, the usual attributes, no commas or wildcards that change
 * meaning when a name is printed and parsed again), optionally only the CNs Verestro announced.
 * Every problem is reported at once, with a field and a stable code.
 */
export interface CallbackCsrPolicy {
  /** VERESTRO_CALLBACK_CSR_CN, split: when non-empty, the CN must be one of these. */
  allowedCommonNames: string[];
}

export const CALLBACK_CSR_MIN_RSA_BITS = 2048;
/** Node (OpenSSL) curve names → the names operators know them by. */
export const CALLBACK_CSR_CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
export const CALLBACK_CSR_ATTRIBUTES = ['CN', 'O', 'OU', 'C', 'L', 'ST'] as const;
/** X.520 upper bound for a common name (RFC 5280 appendix A). */
export const CALLBACK_CSR_MAX_CN = 64;

/** The same attributes by OID, for requests whose names the parser prints numerically. */
const ATTRIBUTE_BY_OID: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
};
// Control characters and invisible formatting (bidi overrides, zero-width) make a name read differently than it matches.
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

export function parseAllowedCommonNames(setting: string | undefined): string[] {
  return (setting ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

export function checkCallbackCsr(csr: CsrFacts, policy: CallbackCsrPolicy): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const violate = (field: string, code: string, message: string) => violations.push({ field, code, message });
  const allowedKeys = `RSA of at least ${CALLBACK_CSR_MIN_RSA_BITS} bits or EC on ${Object.values(CALLBACK_CSR_CURVES).join(', ')}`;

  // The key.
  const { key } = csr;
  if (key.type === 'rsa') {
    if ((key.bits ?? 0) < CALLBACK_CSR_MIN_RSA_BITS) {
      violate(
        'csrPem.publicKey',
        'KEY_TOO_SHORT',
        `is RSA-${key.bits ?? '?'}; the callback CA signs only ${allowedKeys}. Ask Verestro for a CSR with a stronger key`,
      );
    }
  } else if (key.type === 'ec') {
    if (!key.curve || !CALLBACK_CSR_CURVES[key.curve]) {
      violate(
        'csrPem.publicKey',
        'CURVE_NOT_ALLOWED',
        `is EC on ${key.curve ?? 'explicit parameters'}; the callback CA signs only ${allowedKeys}`,
      );
    }
  } else {
    violate(
      'csrPem.publicKey',
      'KEY_TYPE_NOT_ALLOWED',
      `is ${key.type.toUpperCase()}; the callback CA signs only ${allowedKeys}`,
    );
  }
  if (csr.signatureValid === false) {
    violate(
      'csrPem',
      'NOT_A_VALID_CSR',
      'has a signature that does not verify with its own key: it was altered or signed with another key. Ask Verestro for the original CSR',
    );
  }

  // The subject.
  const attributes = csr.subject.flat();
  if (csr.subject.some((rdn) => rdn.length > 1)) {
    violate(
      'csrPem.subject',
      'MULTI_VALUED_RDN',
      'joins several attributes into one name part (as in CN=a+O=b); give each attribute its own part',
    );
  }
  const disallowed = [...new Set(attributes.map(([type]) => type).filter((type) => !isAllowedAttribute(type)))];
  if (disallowed.length > 0) {
    violate(
      'csrPem.subject',
      'SUBJECT_ATTRIBUTE_NOT_ALLOWED',
      `has ${disallowed.join(', ')}; only ${CALLBACK_CSR_ATTRIBUTES.join(', ')} are allowed`,
    );
  }
  for (const [type, value] of attributes) {
    const field = `csrPem.subject.${isAllowedAttribute(type) ? canonical(type) : type}`;
    if (value.trim() === '') violate(field, 'EMPTY_VALUE', 'must not be empty');
    if (value.includes(','))
      violate(
        field,
        'COMMA_NOT_ALLOWED',
        `must not contain a comma ("${printable(value)}"): names with commas are read differently by different tools`,
      );
    if (value.includes('*'))
      violate(field, 'WILDCARD_NOT_ALLOWED', `must not contain a wildcard "*" ("${printable(value)}")`);
    if (CONTROL_OR_FORMAT.test(value))
      violate(
        field,
        'CONTROL_CHARACTER',
        'must not contain control characters such as line breaks, NUL or invisible formatting characters',
      );
  }
  const countries = attributes.filter(([type]) => canonical(type) === 'C').map(([, value]) => value);
  for (const country of countries) {
    if (!/^[A-Za-z]{2}$/.test(country))
      violate(
        'csrPem.subject.C',
        'COUNTRY_NOT_TWO_LETTERS',
        `must be a two-letter country code, not "${printable(country)}"`,
      );
  }

  const commonNames = attributes.filter(([type]) => canonical(type) === 'CN').map(([, value]) => value);
  if (commonNames.length === 0) {
    violate('csrPem.subject.CN', 'CN_MISSING', 'is missing; the subject must have exactly one CN');
  } else if (commonNames.length > 1) {
    violate(
      'csrPem.subject.CN',
      'CN_REPEATED',
      `appears ${commonNames.length} times; the subject must have exactly one CN`,
    );
  } else {
    const [commonName] = commonNames;
    const length = [...commonName].length;
    if (length > CALLBACK_CSR_MAX_CN)
      violate(
        'csrPem.subject.CN',
        'CN_TOO_LONG',
        `is ${length} characters long; a CN may have at most ${CALLBACK_CSR_MAX_CN}`,
      );
    if (policy.allowedCommonNames.length > 0 && !policy.allowedCommonNames.includes(commonName)) {
      violate(
        'csrPem.subject.CN',
        'CN_NOT_ALLOWED',
        `is "${printable(commonName)}", which is not one of the names configured in VERESTRO_CALLBACK_CSR_CN (${policy.allowedCommonNames.join(', ')}); check the CSR came from Verestro, or add its CN there`,
      );
    }
  }
  return violations;
}

function canonical(type: string): string {
  return ATTRIBUTE_BY_OID[type] ?? type;
}

function isAllowedAttribute(type: string): boolean {
  return (CALLBACK_CSR_ATTRIBUTES as readonly string[]).includes(canonical(type));
}

/** Values go back into an error message: control characters escaped, length bounded. */
function printable(value: string): string {
  const escaped = [...value]
    .map((c) => (CONTROL_OR_FORMAT.test(c) ? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}` : c))
    .join('');
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}
