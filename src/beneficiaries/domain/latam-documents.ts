import { stdnum } from 'stdnum';

/**
 * Identity documents and bank account numbers of Latin American beneficiaries, checked before a
 * provider sees them: a mistyped CPF or CLABE is refused here with the field and the rule, instead of
 * coming back hours later as a rejected payout. The check-digit algorithms are stdnum's (a port of
 * python-stdnum, maintained); the rules of which document a country uses are ours.
 */

/** Why a number was refused, in words an operator can act on. */
export type NumberProblem = { rule: string; message: string };

interface StdnumValidator {
  validate(value: string): { isValid: true } | { isValid: false; error: Error };
}

const { BR, MX, CL, AR, CO, PE } = stdnum;

/** A number made of one digit repeated passes the CPF/CNPJ arithmetic but is never issued. */
function repeated(digits: string): boolean {
  return /^(\d)\1+$/.test(digits);
}

/**
 * A document or account number without its formatting (spaces, dots, dashes, slashes), upper
 * case: what the rules check, and what a provider that wants bare numbers is sent.
 */
export function compactNumber(value: string): string {
  return value.replace(/[\s.\-/]/g, '').toUpperCase();
}
const compact = compactNumber;

function byAlgorithm(name: string, validator: StdnumValidator, extra?: (digits: string) => string | null) {
  return (value: string): NumberProblem | null => {
    // Compacted first: stdnum's cleaners drop spaces and dashes only, and people write 12.345.678-5.
    const result = validator.validate(compact(value));
    if (!result.isValid) return { rule: name, message: `is not a valid ${name}: ${describe(result.error, name)}` };
    const refused = extra?.(compact(value));
    return refused ? { rule: name, message: `is not a valid ${name}: ${refused}` } : null;
  };
}

function byPattern(name: string, pattern: RegExp, shape: string) {
  return (value: string): NumberProblem | null =>
    pattern.test(compact(value)) ? null : { rule: name, message: `is not a valid ${name}: it must be ${shape}` };
}

/** stdnum's error classes, as a sentence. */
function describe(error: Error, name: string): string {
  switch (error.name) {
    case 'InvalidChecksum':
      return 'the check digit does not match (a digit is probably mistyped)';
    case 'InvalidLength':
      return `it does not have the length of a ${name}`;
    case 'InvalidFormat':
      return 'it has characters a ' + name + ' does not have';
    default:
      return `a part of it cannot be right (${error.message})`;
  }
}

const notRepeated = (digits: string) => (repeated(digits) ? 'all its digits are the same' : null);

const CPF = byAlgorithm('CPF', BR.cpf, notRepeated);
const CNPJ = byAlgorithm('CNPJ', BR.cnpj, notRepeated);
const CURP = byAlgorithm('CURP', MX.curp);
const RFC = byAlgorithm('RFC', MX.rfc);
const RUT = byAlgorithm('RUT', CL.rut);
const CUIT = byAlgorithm('CUIT', AR.cuit);
const AR_DNI = byAlgorithm('DNI', AR.dni);
const NIT = byAlgorithm('NIT', CO.nit);
const RUC = byAlgorithm('RUC', PE.ruc);
const PE_CE = byAlgorithm('carné de extranjería', PE.ce);
const PE_DNI = byPattern('DNI', /^\d{8}$/, '8 digits');
const CO_CC = byPattern('cédula de ciudadanía', /^\d{3,10}$/, '3 to 10 digits');
const CO_CE = byPattern('cédula de extranjería', /^[A-Z0-9]{3,12}$/, '3 to 12 letters or digits');
const MX_INE = byPattern(
  'INE/IFE clave de elector',
  /^[A-Z]{6}\d{8}[HM][A-Z0-9]{3}$/,
  '18 characters: 6 letters, 8 digits, H or M, 3 letters or digits',
);
/** A passport is issued abroad under other rules: only its shape is checked. */
const PASS = byPattern('passport number', /^[A-Z0-9]{5,20}$/, '5 to 20 letters or digits');
const CLABE = byAlgorithm('CLABE', MX.clabe);
const CBU = byAlgorithm('CBU/CVU', AR.cbu);

type Check = (value: string) => NumberProblem | null;

/**
 * Per country, the document types the LatAm cashout rail lists for it (document_type: CPF, CURP, DNI, CC, CE …) with
 * the rule each must follow. A type not listed for a country is refused: the provider would refuse it.
 */
const DOCUMENTS: Record<string, Record<string, Check>> = {
  BR: { CPF, CNPJ, PASS },
  MX: { CURP, RFC, IFE: MX_INE, INE: MX_INE, PASS },
  CL: { RUT, RUN: RUT, CI: RUT, PASS },
  AR: { CUIT, CUIL: CUIT, DNI: AR_DNI, PASS },
  CO: { CC: CO_CC, CE: CO_CE, NIT, PASS },
  PE: { DNI: PE_DNI, RUC, CE: PE_CE, PASS },
};

/** The document type a beneficiary's number is read as when none was given (see inferredType). */
export function documentTypeOf(country: string, documentId: string, documentType?: string): string | undefined {
  return documentType?.toUpperCase() ?? inferredType(country, compact(documentId));
}

/** When no type is given, the one a country's number can only be (by its length), else the first listed. */
function inferredType(country: string, digits: string): string | undefined {
  if (country === 'BR') return digits.length === 14 ? 'CNPJ' : 'CPF';
  if (country === 'AR') return digits.length === 11 ? 'CUIT' : 'DNI';
  if (country === 'PE') return digits.length === 11 ? 'RUC' : 'DNI';
  if (country === 'CO') return 'CC';
  return Object.keys(own(DOCUMENTS, country) ?? {})[0];
}

/**
 * `table[key]` when the table itself has that key. The country and document type come from the
 * request: "__proto__" or "constructor" must find no rule, not Object.prototype's members.
 */
function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** What is wrong with a beneficiary's document for its country, or null when it is right or the country has no rule. */
export function documentProblem(country: string, documentId: string, documentType?: string): NumberProblem | null {
  const rules = own(DOCUMENTS, country);
  if (!rules) return null;
  const type = documentTypeOf(country, documentId, documentType);
  const check = type ? own(rules, type) : undefined;
  if (!check) {
    return {
      rule: 'DOCUMENT_TYPE',
      message: `is not a document type used in ${country}: use ${Object.keys(rules).join(', ')}`,
    };
  }
  return check(documentId);
}

/** A card number's shape: 16 digits passing the Luhn check (ISO/IEC 7812), as Mexican debit cards are. */
function isDebitCardNumber(digits: string): boolean {
  if (!/^\d{16}$/.test(digits)) return false;
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Mexico pays to a CLABE (Banxico: 18 digits, the first 3 the bank's ABM code, the last a check
 * digit) or, with some providers, to a debit card. A debit card number is card data: this service
 * does not store card numbers (PCI DSS scope), so it is refused with what to send instead, rather
 * than with a CLABE length error that does not say why.
 */
function mexicanAccount(value: string): NumberProblem | null {
  const digits = compact(value);
  if (isDebitCardNumber(digits))
    return {
      rule: 'CARD_NUMBER',
      message:
        'is a debit card number: send the beneficiary’s 18-digit CLABE instead (card numbers are card data this service does not store)',
    };
  // The CLABE's first three digits are the bank's ABM code, but bankCode is in the provider's own
  // code space (its banks list, which no source ties to ABM codes), so the two are not compared:
  // a rule built on an unverified mapping would refuse good payouts.
  return CLABE(value);
}

/** Account numbers without a public check-digit rule: digits only (spaces, dots and dashes allowed between them). */
const digitsOnly = (name: string, max: number) => byPattern(name, new RegExp(`^\\d{4,${max}}$`), `4 to ${max} digits`);

/**
 * Brazil's conta (up to 14 digits and a check digit, which may be X: Caixa's are the longest) and
 * agência (4 digits and an optional check digit).
 */
const BR_ACCOUNT = byPattern('conta', /^\d{1,14}[\dX]?$/, 'up to 15 digits (the last may be an X check digit)');
const BR_BRANCH = byPattern('agência', /^\d{1,4}[\dX]?$/, '1 to 4 digits and an optional check digit');

/** The account number rule of each country the LatAm cashout rail serves. */
const ACCOUNTS: Record<string, (value: string) => NumberProblem | null> = {
  MX: mexicanAccount,
  AR: (value) => CBU(value),
  BR: (value) => BR_ACCOUNT(value),
  CO: (value) => digitsOnly('Colombian account number', 20)(value),
  CL: (value) => digitsOnly('Chilean account number', 20)(value),
  // Peru: a local account or the 20-digit CCI (interbank); CCI check digits are not checked (no public specification found).
  PE: (value) => digitsOnly('Peruvian account number or CCI', 20)(value),
};

/** What is wrong with a bank account number for its country, or null when it is right or the country has no rule. */
export function bankAccountProblem(country: string, bankAccount: string): NumberProblem | null {
  return own(ACCOUNTS, country)?.(bankAccount) ?? null;
}

/** What is wrong with a bank branch for its country (Brazil's agência), or null. */
export function bankBranchProblem(country: string, bankBranch: string): NumberProblem | null {
  return country === 'BR' ? BR_BRANCH(bankBranch) : null;
}

/** The countries with document rules, for documentation. */
export const COUNTRIES_WITH_DOCUMENT_RULES = Object.freeze(
  Object.fromEntries(Object.entries(DOCUMENTS).map(([country, rules]) => [country, Object.keys(rules)])),
);
export const COUNTRIES_WITH_ACCOUNT_RULES = Object.freeze({
  MX: 'CLABE (18 digits and its check digit; a debit card number is refused)',
  AR: 'CBU/CVU (22 digits)',
  BR: 'conta: up to 15 digits; agência (bankBranch): up to 4 digits and a check digit',
  CO: '4 to 20 digits',
  CL: '4 to 20 digits',
  PE: '4 to 20 digits (an account or the CCI)',
});
