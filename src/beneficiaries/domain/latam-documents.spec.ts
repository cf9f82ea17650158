import { looksLikeCardNumber } from '../beneficiary-number.validators';
import { bankAccountProblem, bankBranchProblem, documentProblem } from './latam-documents';

/**
 * Every document and account rule with numbers that are right and numbers that are wrong in the
 * way people get them wrong: one digit off (check digit), too short, letters, all one digit.
 */
describe('Latin American document and bank account rules', () => {
  const valid: Array<[country: string, type: string | undefined, documentId: string]> = [
    ['BR', 'CPF', '849.325.682-07'],
    ['BR', undefined, '84932568207'],
    ['BR', 'CNPJ', '16.727.230/0001-97'],
    ['BR', undefined, '16727230000197'],
    ['MX', 'CURP', 'BOXW310820HNERXN09'],
    ['MX', 'RFC', 'GODE 561231 GR8'],
    ['MX', 'INE', 'GMVLMR80070501M100'],
    ['CL', 'RUT', '76086428-5'],
    ['CL', 'CI', '12531909-2'],
    ['CL', 'RUT', '12.531.909-2'],
    ['AR', 'CUIT', '20.05536168.2'],
    ['AR', 'CUIT', '20-05536168-2'],
    ['AR', 'DNI', '20.123.456'],
    ['AR', undefined, '20055361682'],
    ['CO', 'NIT', '900544472-2'],
    ['CO', 'CC', '1018464851'],
    ['PE', 'RUC', '20512333797'],
    ['PE', 'DNI', '10117410'],
    ['PE', 'CE', '001766062'],
    ['BR', 'PASS', 'FX123456'],
    ['UY', 'CI', 'anything: no rule for this country'],
  ];
  it.each(valid)('%s %s %s is accepted', (country, type, documentId) => {
    expect(documentProblem(country, documentId, type)).toBeNull();
  });

  const invalid: Array<[country: string, type: string | undefined, documentId: string, because: RegExp]> = [
    ['BR', 'CPF', '849.325.682-08', /not a valid CPF: the check digit does not match/],
    ['BR', 'CPF', '111.111.111-11', /all its digits are the same/],
    ['BR', 'CPF', '8493256820', /length of a CPF/],
    ['BR', 'CNPJ', '16.727.230/0001-98', /not a valid CNPJ: the check digit/],
    ['BR', 'CNPJ', '00000000000000', /all its digits are the same/],
    ['BR', 'RG', '123456789', /not a document type used in BR: use CPF, CNPJ, PASS/],
    ['MX', 'CURP', 'BOXW310820HNERXN08', /not a valid CURP/],
    ['MX', 'RFC', 'GODE561231GR9', /not a valid RFC/],
    ['MX', 'INE', 'GMVLMR80070501X100', /not a valid INE\/IFE clave de elector/],
    ['CL', 'RUT', '12531909-3', /not a valid RUT: the check digit/],
    ['CL', 'RUT', '76086A28-5', /not a valid RUT/],
    ['AR', 'CUIT', '20267565392', /not a valid CUIT: the check digit/],
    ['AR', 'DNI', '2012345699', /not a valid DNI/],
    ['CO', 'NIT', '900544472-3', /not a valid NIT: the check digit/],
    ['CO', 'CC', '12AB', /not a valid cédula de ciudadanía: it must be 3 to 10 digits/],
    ['PE', 'RUC', '20512333798', /not a valid RUC: the check digit/],
    ['PE', 'DNI', '1011741', /not a valid DNI: it must be 8 digits/],
    ['BR', 'PASS', 'A1', /not a valid passport number/],
  ];
  it.each(invalid)('%s %s %s is refused', (country, type, documentId, because) => {
    expect(documentProblem(country, documentId, type)?.message).toMatch(because);
  });

  it('takes any card number for a PAN, whatever its issuer or separators, and leaves tokens alone', () => {
    for (const pan of [
      '4242424242424242',
      '4242_4242_4242_4242',
      '4242 4242-4242.4242',
      '5019717010103742',
      '2200000000000004',
      '6362970000457013',
    ]) {
      expect([pan, looksLikeCardNumber(pan)]).toEqual([pan, true]);
    }
    for (const token of ['tok_visa_4242', 'tok_4242424242424242', '4242424242424241', '12345678901', 'card-ref-0001']) {
      expect([token, looksLikeCardNumber(token)]).toEqual([token, false]);
    }
  });

  it('checks Mexican CLABEs and Argentine CBUs by their check digits', () => {
    expect(bankAccountProblem('MX', '002010077777777771')).toBeNull();
    expect(bankAccountProblem('MX', '002010077777777779')?.message).toMatch(/not a valid CLABE: the check digit/);
    expect(bankAccountProblem('MX', '12345678901234567')?.message).toMatch(/length of a CLABE/);
    expect(bankAccountProblem('AR', '2850590940090418135201')).toBeNull();
    expect(bankAccountProblem('AR', '2810590940090418135201')?.message).toMatch(/not a valid CBU\/CVU/);
  });

  it('Mexico: a debit card number is refused as card data, saying to send the CLABE (not a CLABE length error)', () => {
    for (const card of ['4152313800000007', '4152 3138 0000 0007']) {
      expect(bankAccountProblem('MX', card)).toEqual({
        rule: 'CARD_NUMBER',
        message:
          'is a debit card number: send the beneficiary’s 18-digit CLABE instead (card numbers are card data this service does not store)',
      });
    }
    // 16 digits failing Luhn is no card: the CLABE rule answers.
    expect(bankAccountProblem('MX', '4152313800000006')?.message).toMatch(/length of a CLABE/);
  });

  it.each([
    ['BR', '123456789', null],
    ['BR', '12345-6', null],
    ['BR', '0001234-X', null],
    ['BR', '123456789012345', null],
    ['BR', '1234567890123456', /conta: it must be up to 15 digits/],
    ['BR', '12AB45', /conta/],
    ['CO', '0123456789', null],
    ['CO', '12-345-678', null],
    ['CO', '123', /Colombian account number: it must be 4 to 20 digits/],
    ['CL', '001234567', null],
    ['CL', 'CTA12345', /Chilean account number/],
    ['PE', '00219300123456789012', null],
    ['PE', '002193001234567890123', /Peruvian account number or CCI: it must be 4 to 20 digits/],
    ['UY', 'anything', null],
  ])('%s account %s', (country, account, problem) => {
    const found = bankAccountProblem(country, account);
    if (problem === null) expect(found).toBeNull();
    else expect(found?.message).toMatch(problem);
  });

  it.each([
    ['0001', null],
    ['1234-5', null],
    ['123X', null],
    ['12345-6', /agência/],
    ['AG01', /agência/],
  ])('Brazil agência %s', (branch, problem) => {
    const found = bankBranchProblem('BR', branch);
    if (problem === null) expect(found).toBeNull();
    else expect(found?.message).toMatch(problem);
    expect(bankBranchProblem('MX', 'anything')).toBeNull();
  });

  it('finds no rule for a country or document type named like an Object member (never a 500)', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__defineGetter__']) {
      expect(bankAccountProblem(name, '0123456789')).toBeNull();
      expect(documentProblem(name, '84932568207')).toBeNull();
      expect(documentProblem('BR', '84932568207', name)).toMatchObject({ rule: 'DOCUMENT_TYPE' });
    }
  });
});
