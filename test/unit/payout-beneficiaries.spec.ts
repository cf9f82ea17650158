import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { open, SealedSecretError } from '../../src/credentials/crypto/envelope';
import { masterKeyFromBase64, MasterKeyring } from '../../src/credentials/crypto/master-keyring';
import type { BeneficiaryColumns } from '../../src/payouts/beneficiary/payout-beneficiaries';
import {
  canonicalAccount,
  PayoutBeneficiaries,
  SealedBeneficiary,
} from '../../src/payouts/beneficiary/payout-beneficiaries';
import { maskBeneficiary } from '../../src/payouts/domain/payout';
import { ProviderError, type Beneficiary } from '../../src/providers/provider.port';

const keyA = masterKeyFromBase64(randomBytes(32).toString('base64'));
const keyB = masterKeyFromBase64(randomBytes(32).toString('base64'));

const latam: Beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'José',
  lastName: 'Müller',
  documentId: '84932568207',
  documentType: 'CPF',
  bankCode: 341,
  bankBranch: '0001',
  bankAccount: '123456789',
  email: 'jose@example.com',
};
const iban: Beneficiary = {
  type: 'iban',
  name: 'Erika Mustermann',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
  address: { line1: 'Hauptstr. 1', city: 'Berlin', country: 'DE' },
};
const card: Beneficiary = { type: 'card', cardToken: 'tok_visa_4242', name: 'Jan Kowalski' };

/** A payouts row as the database gives it back. */
const rowOf = (id: string, columns: BeneficiaryColumns) => ({ id, ...columns });

describe('payout beneficiaries sealed at rest', () => {
  const beneficiaries = new PayoutBeneficiaries(new MasterKeyring(keyA));

  it.each([
    ['latam_bank_account', latam],
    ['iban', iban],
    ['card', card],
  ] as const)(
    'seals a %s beneficiary: the readable column is masked, nothing stored holds a full identifier, open() gives it back',
    (_rail, beneficiary) => {
      const id = randomUUID();
      const columns = beneficiaries.seal(id, beneficiary);
      expect(columns.beneficiary).toEqual(maskBeneficiary(beneficiary));
      expect(columns.beneficiaryMasterKeyId).toBe(keyA.id);
      expect(columns.beneficiaryFingerprint).toMatch(/^[0-9a-f]{64}$/);
      const stored =
        JSON.stringify(columns.beneficiary) +
        columns.beneficiaryCiphertext.toString('latin1') +
        columns.beneficiaryWrappedKey.toString('latin1') +
        columns.beneficiaryFingerprint;
      for (const value of ['84932568207', '123456789', 'DE89370400440532013000', 'tok_visa_4242', 'jose@example.com'])
        expect(stored).not.toContain(value);
      expect(beneficiaries.open(SealedBeneficiary.fromRow(rowOf(id, columns)))).toEqual(beneficiary);
    },
  );

  it('keeps the masked shape answers have always had (plus the bank code, which is not secret)', () => {
    expect(beneficiaries.seal(randomUUID(), latam).beneficiary).toEqual({
      type: 'latam_bank_account',
      country: 'BR',
      name: 'José',
      documentId: '…8207',
      bankCode: 341,
      bankAccount: '…6789',
    });
    expect(beneficiaries.seal(randomUUID(), iban).beneficiary).toEqual({
      type: 'iban',
      name: 'Erika Mustermann',
      iban: '…3000',
      bic: 'COBADEFFXXX',
    });
    expect(beneficiaries.seal(randomUUID(), card).beneficiary).toEqual({ type: 'card', cardToken: '…4242' });
  });

  it('never shows a short identifier whole (at most half of it)', () => {
    expect(maskBeneficiary({ type: 'card', cardToken: 'tok1' })).toEqual({ type: 'card', cardToken: '…k1' });
    expect(
      maskBeneficiary({ type: 'latam_bank_account', country: 'CO', name: 'A', documentId: '1', bankAccount: '55555' }),
    ).toMatchObject({ documentId: '…', bankAccount: '…55' });
  });

  it('refuses a ciphertext moved onto another payout (AAD binds it to the payout id)', () => {
    const columns = beneficiaries.seal(randomUUID(), iban);
    expect(() => beneficiaries.open(SealedBeneficiary.fromRow(rowOf(randomUUID(), columns)))).toThrow(
      SealedSecretError,
    );
  });

  it('is not a credential: the envelope id is namespaced, the bare payout id does not open it', () => {
    const id = randomUUID();
    const columns = beneficiaries.seal(id, card);
    const sealed = {
      masterKeyId: columns.beneficiaryMasterKeyId,
      wrappedDataKey: columns.beneficiaryWrappedKey,
      ciphertext: columns.beneficiaryCiphertext,
    };
    expect(() => open(new MasterKeyring(keyA), id, sealed)).toThrow(SealedSecretError);
  });

  it('refuses tampered ciphertext or wrapped key, and a master key that is not in the ring', () => {
    const id = randomUUID();
    const columns = beneficiaries.seal(id, latam);
    const flipped = Buffer.from(columns.beneficiaryCiphertext);
    flipped[flipped.length - 3] ^= 1;
    expect(() =>
      beneficiaries.open(SealedBeneficiary.fromRow(rowOf(id, { ...columns, beneficiaryCiphertext: flipped }))),
    ).toThrow(SealedSecretError);
    const wrapped = Buffer.from(columns.beneficiaryWrappedKey);
    wrapped[20] ^= 1;
    expect(() =>
      beneficiaries.open(SealedBeneficiary.fromRow(rowOf(id, { ...columns, beneficiaryWrappedKey: wrapped }))),
    ).toThrow(SealedSecretError);
    expect(() =>
      new PayoutBeneficiaries(new MasterKeyring(keyB)).open(SealedBeneficiary.fromRow(rowOf(id, columns))),
    ).toThrow(/neither CREDENTIALS_MASTER_KEY/);
  });

  it('cannot leak through JSON or inspect: a sealed beneficiary shows as [sealed], even a legacy row holding plaintext', () => {
    const id = randomUUID();
    const sealed = SealedBeneficiary.fromRow(rowOf(id, beneficiaries.seal(id, iban)));
    const legacy = SealedBeneficiary.fromRow({
      id,
      beneficiary: iban,
      beneficiaryMasterKeyId: null,
      beneficiaryWrappedKey: null,
      beneficiaryCiphertext: null,
    });
    for (const value of [sealed, legacy]) {
      expect(JSON.stringify({ payout: { sealedBeneficiary: value } })).toBe(
        '{"payout":{"sealedBeneficiary":"[sealed]"}}',
      );
      expect(inspect({ value }, { depth: 5, showHidden: true })).not.toContain('DE89');
      expect(Object.keys(value)).toEqual([]);
    }
    // A row written before sealing is still paid correctly until the job seals it, and shown masked.
    expect(beneficiaries.open(legacy)).toEqual(iban);
    expect(SealedBeneficiary.maskedView(iban, { sealed: false })).toEqual(maskBeneficiary(iban));
  });

  describe('fingerprint (HMAC-SHA256 of the canonical account)', () => {
    it('is the same for the same account however it is formatted or named, and differs for another account', () => {
      const fp = (b: Beneficiary) => beneficiaries.fingerprint(b);
      expect(fp({ ...latam, documentId: '849.325.682-07', name: 'Jose', email: undefined })).toBe(fp(latam));
      expect(fp({ ...iban, iban: 'de89 3704 0044 0532 0130 00', name: 'E. Mustermann', address: undefined })).toBe(
        fp(iban),
      );
      expect(fp({ ...card, name: undefined })).toBe(fp(card));
      expect(fp({ ...latam, bankAccount: '123456780' })).not.toBe(fp(latam));
      expect(fp({ ...latam, country: 'CO' })).not.toBe(fp(latam));
      expect(fp({ ...card, cardToken: 'TOK_VISA_4242' })).not.toBe(fp(card));
      // Every rail has its own namespace, so an IBAN never matches a card token of the same text.
      expect(fp({ type: 'card', cardToken: 'DE89370400440532013000' })).not.toBe(fp(iban));
    });

    it('is keyed: not an unkeyed hash of the identifier, and another master key gives another fingerprint', () => {
      const fingerprint = beneficiaries.fingerprint(latam);
      expect(fingerprint).not.toBe(createHash('sha256').update(canonicalAccount(latam)).digest('hex'));
      expect(new PayoutBeneficiaries(new MasterKeyring(keyB)).fingerprint(latam)).not.toBe(fingerprint);
      // The same key in another process gives the same fingerprint (stable across restarts).
      expect(new PayoutBeneficiaries(new MasterKeyring(keyA)).fingerprint(latam)).toBe(fingerprint);
    });

    it('during a rotation, lookups try every key of the ring; rewrap moves the row to the new key', () => {
      const rotating = new PayoutBeneficiaries(new MasterKeyring(keyB, [keyA]));
      const id = randomUUID();
      const columns = beneficiaries.seal(id, latam);
      expect(rotating.fingerprints(latam)).toEqual([
        rotating.fingerprint(latam, keyB.id),
        columns.beneficiaryFingerprint,
      ]);
      const rewrapped = rotating.rewrap(id, {
        masterKeyId: columns.beneficiaryMasterKeyId,
        wrappedDataKey: columns.beneficiaryWrappedKey,
        ciphertext: columns.beneficiaryCiphertext,
      });
      expect(rewrapped.beneficiaryMasterKeyId).toBe(keyB.id);
      expect(rewrapped.beneficiaryFingerprint).toBe(
        new PayoutBeneficiaries(new MasterKeyring(keyB)).fingerprint(latam),
      );
      const after = new PayoutBeneficiaries(new MasterKeyring(keyB));
      expect(after.open(SealedBeneficiary.fromRow(rowOf(id, { ...columns, ...rewrapped })))).toEqual(latam);
    });
  });

  it('masks the beneficiary out of a provider error message before it is stored', () => {
    const error = new ProviderError(
      'PAYOUT_REJECTED',
      'ConnectPay rejected the request (INVALID_IBAN: DE89 3704 0044 0532 0130 00 / DE89370400440532013000 is closed).',
    );
    expect(beneficiaries.redact(error, iban).message).toBe(
      'ConnectPay rejected the request (INVALID_IBAN: …3000 / …3000 is closed).',
    );
    expect(beneficiaries.redact(new Error('document 84932568207, account 123456789'), latam).message).toBe(
      'document …8207, account …6789',
    );
    expect(beneficiaries.redact('not an error', card)).toBe('not an error');
  });

  it('a payout to a key (PIX phone or email, a wallet number) is told apart by the key; bank accounts keep their identity', () => {
    const person = { type: 'latam_bank_account' as const, country: 'BR', name: 'Ana', documentId: '84932568207' };
    const byEmail = (email: string): Beneficiary => ({ ...person, bankCode: 10001, email });
    expect(canonicalAccount(byEmail('ana@example.com'))).not.toBe(canonicalAccount(byEmail('ana.work@example.com')));
    expect(canonicalAccount(byEmail('Ana@Example.com '))).toBe(canonicalAccount(byEmail('ana@example.com')));
    const byPhone: Beneficiary = { ...person, bankCode: 10000, phone: '+5511987654321' };
    expect(canonicalAccount(byPhone)).not.toBe(canonicalAccount({ ...byPhone, phone: '+5511987654322' }));
    // A bank account's identity is what it was: phone and email beside it change nothing.
    expect(canonicalAccount({ ...latam, phone: '+5511987654321' })).toBe(canonicalAccount(latam));
    expect(maskBeneficiary(byPhone)).toEqual({
      type: 'latam_bank_account',
      country: 'BR',
      name: 'Ana',
      documentId: '…8207',
      bankCode: 10000,
      phone: '…4321',
    });
  });
});
