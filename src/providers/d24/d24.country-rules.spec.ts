import type { LatamBankBeneficiary } from '../provider.port';
import { d24BeneficiaryProblems } from './d24.country-rules';

const person = { type: 'latam_bank_account' as const, name: 'Ana', lastName: 'Silva' };
const of = (fields: Partial<LatamBankBeneficiary> & { country: string }, currency?: string) =>
  d24BeneficiaryProblems({ ...person, documentId: '1', ...fields }, currency ? { currency } : {}).map(
    ({ field, code }) => `${field} ${code}`,
  );

describe('D24 country rules (D24 Countries Validations pages)', () => {
  describe('Brazil', () => {
    const bank = { country: 'BR', bankCode: 341, bankAccount: '12345-6', bankBranch: '0001', accountType: 'C' };

    it('takes a complete bank transfer, with each bank’s account format', () => {
      expect(of(bank, 'BRL')).toEqual([]);
      for (const [bankCode, bankAccount] of [
        [1, '123456789-X'],
        [33, '12345678-9'],
        [33, '1234567890'], // the newest copy's 9–10 digits
        [41, '1234567890'],
        [104, '12345678901234-5'],
        [237, '1234567-8'],
        [323, '1234567891-0'],
        [341, '123456'],
      ] as const)
        expect([bankCode, of({ ...bank, bankCode, bankAccount })]).toEqual([bankCode, []]);
    });

    it('refuses what D24 refuses: missing bank fields, another bank’s format, a currency it does not pay in', () => {
      expect(of({ country: 'BR', documentId: '84932568207' })).toEqual([
        'bankCode REQUIRED_FOR_COUNTRY',
        'bankAccount REQUIRED_FOR_COUNTRY',
        'bankBranch REQUIRED_FOR_COUNTRY',
        'accountType REQUIRED_FOR_COUNTRY',
      ]);
      expect(of({ ...bank, bankAccount: '123456789' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
      expect(of({ ...bank, bankCode: 41, bankAccount: '12345-6' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
      expect(of({ ...bank, bankCode: 237, bankAccount: '123456789' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
      expect(of(bank, 'MXN')).toEqual(['currency CURRENCY_NOT_SERVED']);
      // A bank without a published format is left to D24.
      expect(of({ ...bank, bankCode: 77, bankAccount: '99999999999' })).toEqual([]);
    });

    it('PIX: the key in its field, no bank account', () => {
      expect(of({ country: 'BR', bankCode: 10000, phone: '+5511987654321' })).toEqual([]);
      expect(of({ country: 'BR', bankCode: 10001, email: 'ana@example.com' })).toEqual([]);
      expect(of({ country: 'BR', bankCode: 10002, documentId: '849.325.682-07' })).toEqual([]);
      expect(of({ country: 'BR', bankCode: 10000 })).toEqual(['phone REQUIRED_FOR_COUNTRY']);
      expect(of({ country: 'BR', bankCode: 10000, phone: '+541112345678' })).toEqual(['phone INVALID_PIX_KEY']);
      expect(of({ country: 'BR', bankCode: 10001 })).toEqual(['email REQUIRED_FOR_COUNTRY']);
      expect(of({ country: 'BR', bankCode: 10002, documentId: '12345678000195' })).toEqual([
        'documentId INVALID_PIX_KEY',
      ]);
      expect(
        of({ country: 'BR', bankCode: 10001, email: 'ana@example.com', bankAccount: '1', bankBranch: '1' }),
      ).toEqual(['bankAccount MUST_BE_ABSENT', 'bankBranch MUST_BE_ABSENT']);
    });

    it('says what to send', () => {
      const [problem] = d24BeneficiaryProblems({ ...person, country: 'BR', documentId: '1', bankCode: 10000 });
      expect(problem.message).toBe('is required for PIX (phone key) (bankCode 10000): send the phone number');
      const [format] = d24BeneficiaryProblems({
        ...person,
        documentId: '1',
        ...bank,
        bankAccount: '1234567890',
      });
      expect(format.message).toBe('must be up to 6 digits and a check digit at bank 341');
    });
  });

  it('Mexico: a CLABE and the last name; no bank code needed', () => {
    expect(of({ country: 'MX', bankAccount: '002010077777777771' }, 'MXN')).toEqual([]);
    expect(of({ country: 'MX', bankAccount: '002010077777777771', lastName: undefined })).toEqual([
      'lastName REQUIRED_FOR_COUNTRY',
    ]);
    expect(of({ country: 'MX' })).toEqual(['bankAccount REQUIRED_FOR_COUNTRY']);
    expect(of({ country: 'MX', bankAccount: '002010077777777771' }, 'COP')).toEqual(['currency CURRENCY_NOT_SERVED']);
  });

  it('Argentina: a CBU/CVU and the last name', () => {
    expect(of({ country: 'AR', bankAccount: '2850590940090418135201' }, 'ARS')).toEqual([]);
    expect(of({ country: 'AR' })).toEqual(['bankAccount REQUIRED_FOR_COUNTRY']);
  });

  describe('Colombia', () => {
    const bank = { country: 'CO', bankCode: 7, bankAccount: '12345678901', accountType: 'S', address: 'Calle 1' };
    it('a bank account: 8 to 19 digits, C or S, address and last name', () => {
      expect(of(bank, 'COP')).toEqual([]);
      expect(of({ ...bank, bankAccount: '1234567' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
      expect(of({ ...bank, accountType: 'V' })).toEqual(['accountType INVALID_ACCOUNT_TYPE']);
      expect(of({ ...bank, address: undefined, lastName: undefined })).toEqual([
        'lastName REQUIRED_FOR_COUNTRY',
        'address REQUIRED_FOR_COUNTRY',
      ]);
    });
    it('wallets pay to a mobile number, Efecty (cash) to a +57 phone and no account', () => {
      expect(of({ ...bank, bankCode: 1507, bankAccount: '3104028587', accountType: undefined })).toEqual([]);
      expect(of({ ...bank, bankCode: 1551, bankAccount: '12' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
      expect(of({ ...bank, bankCode: 10003, bankAccount: undefined, phone: '+573104028587' })).toEqual([]);
      expect(of({ ...bank, bankCode: 10003, bankAccount: undefined })).toEqual(['phone REQUIRED_FOR_COUNTRY']);
      expect(of({ ...bank, bankCode: 10003, phone: '+573104028587' })).toEqual(['bankAccount MUST_BE_ABSENT']);
    });
  });

  it('Chile: 6 to 16 digits; checking, savings or vista', () => {
    const bank = { country: 'CL', bankCode: 12, bankAccount: '1234567890', accountType: 'V' };
    expect(of(bank, 'CLP')).toEqual([]);
    expect(of({ ...bank, bankAccount: '12345' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
    expect(of({ ...bank, accountType: 'X' })).toEqual(['accountType INVALID_ACCOUNT_TYPE']);
    expect(of({ country: 'CL' })).toEqual([
      'bankCode REQUIRED_FOR_COUNTRY',
      'bankAccount REQUIRED_FOR_COUNTRY',
      'accountType REQUIRED_FOR_COUNTRY',
    ]);
  });

  it('Peru: the 20-digit CCI; Yape and Plin pay to a phone', () => {
    const bank = { country: 'PE', bankAccount: '00219300153895206813', accountType: 'C' };
    expect(of(bank, 'PEN')).toEqual([]);
    expect(of({ ...bank, bankAccount: '002193001538952068' })).toEqual(['bankAccount INVALID_BANK_ACCOUNT']);
    expect(of({ ...bank, bankAccount: '002193001538952000' })).toEqual([]);
    expect(of({ country: 'PE', bankCode: 901, phone: '51987654321' })).toEqual([]);
    expect(of({ country: 'PE', bankCode: 902 })).toEqual(['phone REQUIRED_FOR_COUNTRY']);
  });

  it('Ecuador, Paraguay and Bolivia: their account lengths, types and required fields', () => {
    expect(of({ country: 'EC', bankCode: 10, bankAccount: '2201234567', accountType: 'C' }, 'USD')).toEqual([]);
    expect(of({ country: 'EC', bankCode: 10, bankAccount: '2201234567', accountType: 'C' }, 'EUR')).toEqual([
      'currency CURRENCY_NOT_SERVED',
    ]);
    expect(of({ country: 'PY', bankCode: 17, bankAccount: '123', documentType: 'CIC' }, 'PYG')).toEqual([]);
    expect(of({ country: 'PY', bankCode: 17, bankAccount: '12' })).toEqual([
      'documentType REQUIRED_FOR_COUNTRY',
      'bankAccount INVALID_BANK_ACCOUNT',
    ]);
    expect(
      of({ country: 'BO', bankCode: 1, bankAccount: '1234', accountType: 'S', documentType: 'CI' }, 'BOB'),
    ).toEqual([]);
    expect(of({ country: 'BO', bankCode: 1, bankAccount: '123', accountType: 'S', documentType: 'CI' })).toEqual([
      'bankAccount INVALID_BANK_ACCOUNT',
    ]);
  });

  it('checks numbers bare, as they are sent: separators are formatting', () => {
    expect(
      of({ country: 'CO', bankCode: 7, bankAccount: '1234 5678 90', accountType: 'S', address: 'Calle 1' }),
    ).toEqual([]);
    expect(of({ country: 'BR', bankCode: 10002, documentId: '849.325.682-07' })).toEqual([]);
    expect(of({ country: 'BR', bankCode: 1, bankAccount: '12345678-x', bankBranch: '0001', accountType: 'C' })).toEqual(
      [],
    );
  });

  it('a country without rules is left to D24', () => {
    expect(of({ country: 'DE' }, 'EUR')).toEqual([]);
  });
});
