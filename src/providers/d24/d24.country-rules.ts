import { compactNumber } from '../../beneficiaries/domain/latam-documents';
import type { LatamBankBeneficiary } from '../provider.port';

/**
 * D24's per-country cashout rules, applied before anything is sent, so a payout D24 would refuse
 * (300 "Invalid params", rejection 800 invalid account, 814 invalid PIX key, 819 invalid account
 * type) is refused here with the field and what to send. The identity documents and check digits
 * shared by every LatAm rail are in beneficiaries/domain/latam-documents.ts; these are D24's own:
 * the fields each country requires, its account types, the account formats of its bank codes
 * (D24's codes, from GET /v3/banks) and its wallets, cash networks and PIX keys, and the
 * currencies it pays in.
 *
 * Sources (D24's "Countries Validations" pages, read in D24's docs and in their white-label copies,
 * which carry the same tables):
 *   https://docs.d24.com/api-documentation/cashouts-api/countries-validations/american-countries/<country>
 *   https://docs.directa24.com/api-documentation/cashouts-api/countries-validations/american-countries/<country>
 *   https://docs.d24.com/knowledge-base/countries-specifications (currencies, documents)
 * Where copies disagree (Brazil's Santander, Itaú and Mercado Pago lengths), the looser reading is
 * used: refusing a good account costs a payout, letting a bad one through costs one D24 refusal.
 * What no copy showed in full (Brazil's agência table and account type letters, Peru's CCI check
 * digit algorithm, PIX random keys) is not enforced.
 */

type Field = keyof LatamBankBeneficiary;

/** One refusal, under the beneficiary's own field name (or `currency`). */
export interface D24RuleProblem {
  field: Field | 'currency';
  code:
    | 'REQUIRED_FOR_COUNTRY'
    | 'MUST_BE_ABSENT'
    | 'INVALID_ACCOUNT_TYPE'
    | 'INVALID_BANK_ACCOUNT'
    | 'INVALID_PIX_KEY'
    | 'INVALID_PHONE'
    | 'CURRENCY_NOT_SERVED';
  message: string;
}

/** A bank code whose payouts are not to a bank account: a wallet, a cash network or a PIX key. */
interface SpecialCode {
  name: string;
  /** What bankAccount holds: nothing, or a wallet's phone number. */
  bankAccount: 'absent' | { pattern: RegExp; shape: string };
  /** Fields this code needs besides the country's. */
  requires?: readonly Field[];
  /** A rule on another field (a PIX key). */
  key?: { field: Field; pattern: RegExp; shape: string };
}

interface CountryRules {
  /** Currencies D24 pays out in, in that country. */
  currencies: readonly string[];
  /** Fields D24 requires for a bank account payout (special codes have their own). */
  requires: readonly Field[];
  /** Fields required for every payout in the country, bank account or not. */
  requiresAlways?: readonly Field[];
  accountTypes?: readonly string[];
  /** The bank account format, by bank code when banks differ. */
  account?: { pattern: RegExp; shape: string };
  accountByBank?: Readonly<Record<number, { pattern: RegExp; shape: string }>>;
  special?: Readonly<Record<number, SpecialCode>>;
}

const digits = (min: number, max: number) => ({
  pattern: new RegExp(`^\\d{${min},${max}}$`),
  shape: `${min} to ${max} digits`,
});
/** Brazil's conta: up to `maxBody` digits and a check digit (checked bare: a dash before it is formatting). */
const conta = (maxBody: number) => ({
  pattern: new RegExp(`^\\d{1,${maxBody}}\\d$`),
  shape: `up to ${maxBody} digits and a check digit`,
});
const CHECKING_SAVINGS = ['C', 'S'] as const;
const ACCOUNT_TYPE_NAMES: Readonly<Record<string, string>> = { C: 'checking', S: 'savings', V: 'vista (salary)' };

const RULES: Readonly<Record<string, CountryRules>> = {
  // Brazil: bank transfers need bank, agência, conta and type; PIX keys go by bank code instead.
  BR: {
    currencies: ['BRL', 'USD'],
    requires: ['bankCode', 'bankAccount', 'bankBranch', 'accountType'],
    accountByBank: {
      1: {
        pattern: /^\d{1,9}[\dX]$/,
        shape: 'up to 9 digits and a check digit (a digit or X)',
      }, // Banco do Brasil
      33: conta(9), // Santander: 8–9 digits in most copies, 9–10 in docs.d24.com's newest
      41: { pattern: /^\d{10}$/, shape: '10 digits, the last a check digit' }, // Banrisul
      104: conta(14), // Caixa
      237: conta(7), // Bradesco
      323: conta(10), // Mercado Pago: the text says up to 11 digits, its regex 10
      341: conta(6), // Itaú: 6 digits in most copies, possibly 7 in the newest
    },
    special: {
      10000: {
        name: 'PIX (phone key)',
        bankAccount: 'absent',
        requires: ['phone'],
        key: { field: 'phone', pattern: /^\+55\d{10,11}$/, shape: '+55 and the 10 or 11 digit Brazilian number' },
      },
      10001: { name: 'PIX (email key)', bankAccount: 'absent', requires: ['email'] },
      10002: {
        name: 'PIX (CPF key)',
        bankAccount: 'absent',
        key: { field: 'documentId', pattern: /^\d{11}$/, shape: 'the beneficiary’s CPF (11 digits)' },
      },
    },
  },
  // Mexico: the CLABE names its bank, so bank_code is not needed; the last name is.
  MX: { currencies: ['MXN', 'USD'], requires: ['bankAccount'], requiresAlways: ['lastName'] },
  // Argentina: a CBU or CVU (22 digits, checked in latam-documents) names its bank.
  AR: { currencies: ['ARS', 'USD'], requires: ['bankAccount'], requiresAlways: ['lastName'] },
  CO: {
    currencies: ['COP', 'USD'],
    requires: ['bankCode', 'bankAccount', 'accountType'],
    requiresAlways: ['lastName', 'address'],
    accountTypes: CHECKING_SAVINGS,
    account: digits(8, 19),
    special: {
      1507: {
        name: 'Nequi',
        bankAccount: { pattern: /^\d{10,20}$/, shape: 'the customer’s mobile number (10 to 20 digits)' },
      },
      1551: {
        name: 'Daviplata',
        bankAccount: { pattern: /^\d{10,20}$/, shape: 'the customer’s mobile number (10 to 20 digits)' },
      },
      10003: {
        name: 'Efecty (cash)',
        bankAccount: 'absent',
        requires: ['phone'],
        key: { field: 'phone', pattern: /^\+57\d{10}$/, shape: '+57 and 10 digits' },
      },
    },
  },
  CL: {
    currencies: ['CLP', 'USD'],
    requires: ['bankCode', 'bankAccount', 'accountType'],
    accountTypes: ['C', 'S', 'V'],
    account: digits(6, 16),
  },
  // Peru: the CCI (20 digits) names its bank; Yape and Plin pay to a phone.
  PE: {
    currencies: ['PEN', 'USD'],
    requires: ['bankAccount', 'accountType'],
    requiresAlways: ['lastName'],
    accountTypes: CHECKING_SAVINGS,
    // D24's own sample code also takes 18 digits ending in 00 (an account without check digits).
    account: {
      pattern: /^(\d{20}|\d{16}00)$/,
      shape: 'the 20-digit CCI (código de cuenta interbancario), or 18 digits ending in 00',
    },
    special: {
      901: { name: 'Yape', bankAccount: 'absent', requires: ['phone'] },
      902: { name: 'Plin', bankAccount: 'absent', requires: ['phone'] },
    },
  },
  EC: {
    currencies: ['USD'],
    requires: ['bankCode', 'bankAccount', 'accountType'],
    requiresAlways: ['lastName'],
    accountTypes: CHECKING_SAVINGS,
    account: digits(5, 20),
  },
  PY: {
    currencies: ['PYG', 'USD'],
    requires: ['bankCode', 'bankAccount'],
    requiresAlways: ['documentType'],
    account: digits(3, 20),
  },
  BO: {
    currencies: ['BOB', 'USD'],
    requires: ['bankCode', 'bankAccount', 'accountType'],
    requiresAlways: ['documentType'],
    accountTypes: CHECKING_SAVINGS,
    account: digits(4, 30),
  },
  // Only the currencies are documented for these; their other rules are left to D24.
  CR: { currencies: ['CRC', 'USD'], requires: [] },
  GT: { currencies: ['GTQ', 'USD'], requires: [] },
  PA: { currencies: ['USD'], requires: [], requiresAlways: ['documentType'] },
  UY: { currencies: ['UYU', 'USD'], requires: [] },
};

/** The countries with D24 rules, for documentation. */
export const D24_RULE_COUNTRIES = Object.freeze(Object.keys(RULES));

/**
 * Countries whose document_type D24 requires and whose type latam-documents can infer from the
 * number: the mapper sends the inferred one when the client left it out (the others must send it).
 */
export function d24RequiresDocumentType(country: string): boolean {
  return country === 'CO' || country === 'PE';
}

const FIELD_NAMES: Readonly<Partial<Record<Field, string>>> = {
  bankCode: 'the bank code (GET /v1/providers/d24/banks)',
  bankAccount: 'the account number',
  bankBranch: 'the branch (agência)',
  accountType: 'the account type',
  lastName: 'the last name',
  address: 'the street address',
  documentType: 'the document type',
  phone: 'the phone number',
  email: 'the email address',
};

/** An own entry of a rules table (never one inherited from Object.prototype). */
function own<T>(
  table: Readonly<Record<string | number, T>> | undefined,
  key: string | number | undefined,
): T | undefined {
  return table !== undefined && key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * What D24 would refuse in a beneficiary (and, for a payout, its currency), or an empty list.
 * A country without rules here passes: D24 is then the judge. Numbers are checked bare
 * (compactNumber), as the mapper sends them.
 */
export function d24BeneficiaryProblems(
  beneficiary: LatamBankBeneficiary,
  context: { currency?: string } = {},
): D24RuleProblem[] {
  const rules = own(RULES, beneficiary.country);
  if (!rules) return [];
  const country = beneficiary.country;
  const problems: D24RuleProblem[] = [];
  const missing = (field: Field, why: string) =>
    problems.push({
      field,
      code: 'REQUIRED_FOR_COUNTRY',
      message: `is required ${why}: send ${FIELD_NAMES[field] ?? field}`,
    });
  const account = beneficiary.bankAccount === undefined ? undefined : compactNumber(beneficiary.bankAccount);

  if (context.currency !== undefined && !rules.currencies.includes(context.currency))
    problems.push({
      field: 'currency',
      code: 'CURRENCY_NOT_SERVED',
      message: `must be ${rules.currencies.join(' or ')}: D24 pays out in ${country} in these only`,
    });
  for (const field of rules.requiresAlways ?? [])
    if (beneficiary[field] === undefined) missing(field, `for payouts to ${country}`);

  const special = own(rules.special, beneficiary.bankCode);
  if (special) {
    const paidBy = `for ${special.name} (bankCode ${beneficiary.bankCode})`;
    for (const field of special.requires ?? []) if (beneficiary[field] === undefined) missing(field, paidBy);
    if (special.bankAccount === 'absent') {
      for (const field of ['bankAccount', 'bankBranch'] as const)
        if (beneficiary[field] !== undefined)
          problems.push({
            field,
            code: 'MUST_BE_ABSENT',
            message: `must be left out ${paidBy}: it pays to no bank account`,
          });
    } else if (account === undefined) missing('bankAccount', paidBy);
    else if (!special.bankAccount.pattern.test(account))
      problems.push({
        field: 'bankAccount',
        code: 'INVALID_BANK_ACCOUNT',
        message: `must be ${special.bankAccount.shape} ${paidBy}`,
      });
    const key = special.key;
    const value = key ? beneficiary[key.field] : undefined;
    if (key && typeof value === 'string' && !key.pattern.test(key.field === 'phone' ? value : compactNumber(value)))
      problems.push({
        field: key.field,
        code: country === 'BR' ? 'INVALID_PIX_KEY' : 'INVALID_PHONE',
        message: `must be ${key.shape} ${paidBy}`,
      });
    return problems;
  }

  for (const field of rules.requires)
    if (beneficiary[field] === undefined) missing(field, `for a bank account payout to ${country}`);
  if (
    beneficiary.accountType !== undefined &&
    rules.accountTypes &&
    !rules.accountTypes.includes(beneficiary.accountType)
  )
    problems.push({
      field: 'accountType',
      code: 'INVALID_ACCOUNT_TYPE',
      message: `must be ${rules.accountTypes.map((type) => `${type} (${ACCOUNT_TYPE_NAMES[type]})`).join(', ')} in ${country}`,
    });
  const byBank = own(rules.accountByBank, beneficiary.bankCode);
  const format = byBank ?? rules.account;
  if (account !== undefined && format && !format.pattern.test(account))
    problems.push({
      field: 'bankAccount',
      code: 'INVALID_BANK_ACCOUNT',
      message: `must be ${format.shape}${byBank ? ` at bank ${beneficiary.bankCode}` : ` in ${country}`}`,
    });
  return problems;
}
