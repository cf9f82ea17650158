import type { LatamBankBeneficiary } from '../../src/providers/provider.port';

/**
 * A Brazilian bank account that passes every rule (CPF 849.325.682-07 has valid check digits; a
 * Banco do Brasil conta, agência and account type, as D24 requires), for
 * suites that need a D24 beneficiary; override what the test is about.
 */
export function brazilianAccount(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...brazilianBankAccount(), ...overrides };
}

/** The same account, typed as the domain's beneficiary (for suites that call services directly). */
export function brazilianBankAccount(): LatamBankBeneficiary {
  return {
    type: 'latam_bank_account',
    country: 'BR',
    name: 'José',
    lastName: 'Müller',
    documentId: '84932568207',
    documentType: 'CPF',
    bankCode: 1,
    bankAccount: '123456789',
    bankBranch: '0001',
    accountType: 'C',
  };
}
