import type { VerestroCsrInput } from './verestro.csr-rules';
import { checkVerestroCsr } from './verestro.csr-rules';

const valid: VerestroCsrInput = {
  environment: 'sandbox',
  country: 'US',
  state: 'Florida',
  locality: 'Miami',
  organization: 'SomeCompany',
  companyName: 'SomeCompany',
  applicationName: 'Payouts',
  email: 'example@user.com',
  keyBits: 4096,
};

const codesOf = (input: Partial<VerestroCsrInput>) =>
  checkVerestroCsr({ ...valid, ...input }).violations.map((v) => `${v.field}:${v.code}`);

describe("Verestro's CSR rules (seed 000)", () => {
  it('builds the subject of the seed example: OU main, CN V-SBX-Somecompany-<App>', () => {
    const { violations, subject } = checkVerestroCsr(valid);
    expect(violations).toEqual([]);
    expect(subject).toEqual({
      C: 'US',
      ST: 'Florida',
      L: 'Miami',
      O: 'SomeCompany',
      OU: 'main',
      CN: 'V-SBX-Somecompany-Payouts',
      emailAddress: 'example@user.com',
    });
  });

  it('uses V- for beta and production, V-SBX- for sandbox and the simulator', () => {
    expect(checkVerestroCsr({ ...valid, environment: 'beta' }).subject.CN).toBe('V-Somecompany-Payouts');
    expect(checkVerestroCsr({ ...valid, environment: 'production' }).subject.CN).toBe('V-Somecompany-Payouts');
    expect(checkVerestroCsr({ ...valid, environment: 'simulator' }).subject.CN).toBe('V-SBX-Somecompany-Payouts');
  });

  it('writes the company name first letter upper case, the rest lower case', () => {
    expect(checkVerestroCsr({ ...valid, companyName: 'sOMECOMPANY' }).subject.CN).toBe('V-SBX-Somecompany-Payouts');
  });

  it.each(['country', 'state', 'locality', 'organization', 'companyName', 'applicationName', 'email'] as const)(
    'refuses a comma in %s',
    (field) => {
      expect(codesOf({ [field]: field === 'country' ? 'U,' : 'A,b' })).toContain(`${field}:COMMA_NOT_ALLOWED`);
    },
  );

  it('lists every violation at once', () => {
    expect(
      codesOf({
        country: 'USA',
        companyName: 'Some Company',
        applicationName: 'My-App',
        email: 'nobody',
        keyBits: 1024,
        state: '',
      }),
    ).toEqual(
      expect.arrayContaining([
        'country:COUNTRY_NOT_ISO_3166_ALPHA2',
        'companyName:COMPANY_NAME_CHARACTERS',
        'applicationName:APPLICATION_NAME_CHARACTERS',
        'email:EMAIL_INVALID',
        'keyBits:KEY_TOO_SHORT',
        'state:REQUIRED',
      ]),
    );
  });

  it('accepts only ISO 3166-1 alpha-2 countries', () => {
    expect(codesOf({ country: 'XX' })).toEqual(['country:COUNTRY_NOT_ISO_3166_ALPHA2']);
    expect(codesOf({ country: 'pl' })).toEqual([]);
    expect(checkVerestroCsr({ ...valid, country: 'pl' }).subject.C).toBe('PL');
  });

  it('refuses keys under 2048 bits and odd sizes, and a CN over 64 characters', () => {
    expect(codesOf({ keyBits: 2047 })).toEqual(['keyBits:KEY_TOO_SHORT']);
    expect(codesOf({ keyBits: 5000 })).toEqual(['keyBits:KEY_SIZE_UNSUPPORTED']);
    expect(codesOf({ applicationName: 'A'.repeat(60) })).toEqual(['applicationName:CN_TOO_LONG']);
  });

  it('refuses line breaks that could smuggle extra subject parts', () => {
    expect(codesOf({ locality: 'Miami\nCN=evil' })).toContain('locality:CONTROL_CHARACTER');
  });
});
