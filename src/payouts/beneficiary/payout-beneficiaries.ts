import { Injectable } from '@nestjs/common';
import { createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { open, rewrap, seal, SealedSecret } from '../../credentials/crypto/envelope';
import { MasterKeyring } from '../../credentials/crypto/master-keyring';
import type { Beneficiary, LatamBankBeneficiary } from '../../providers/provider.port';
import { maskBeneficiary, MaskedBeneficiary, maskValue } from '../domain/payout';

/** The payouts row's beneficiary columns, as create() and the sealing job write them. */
export interface BeneficiaryColumns {
  /** The readable jsonb column: the masked view, which answers and the history show. */
  beneficiary: MaskedBeneficiary;
  beneficiaryMasterKeyId: string;
  beneficiaryWrappedKey: Buffer;
  beneficiaryCiphertext: Buffer;
  beneficiaryFingerprint: string;
}

/** The columns a payouts row is read with (a row written before sealing has NULLs and its plaintext in beneficiary). */
export interface BeneficiaryRow {
  id: string;
  beneficiary: MaskedBeneficiary | Beneficiary;
  beneficiaryMasterKeyId: string | null;
  beneficiaryWrappedKey: Buffer | null;
  beneficiaryCiphertext: Buffer | null;
}

interface Contents {
  payoutId: string;
  /** The row's sealed columns; null for a row written before beneficiaries were sealed. */
  sealed: SealedSecret | null;
  /** Only for such a legacy row (until the sealing job reaches it): the plaintext it still holds. */
  legacy: Beneficiary | null;
}

let contentsOf: (sealed: SealedBeneficiary) => Contents;

/**
 * A payout's full beneficiary, closed. The domain Payout carries it so that submit() can open it
 * without reading the row again, but nothing else can get the beneficiary out: it serialises and
 * inspects as "[sealed]" (so spreading a Payout into JSON, a log line or the stored idempotent
 * answer shows nothing), and only PayoutBeneficiaries.open() reads its (private) contents.
 */
export class SealedBeneficiary {
  readonly #contents: Contents;

  static {
    contentsOf = (sealed) => sealed.#contents;
  }

  private constructor(contents: Contents) {
    this.#contents = contents;
  }

  static fromRow(row: BeneficiaryRow): SealedBeneficiary {
    if (row.beneficiaryMasterKeyId && row.beneficiaryWrappedKey && row.beneficiaryCiphertext) {
      return new SealedBeneficiary({
        payoutId: row.id,
        sealed: {
          masterKeyId: row.beneficiaryMasterKeyId,
          wrappedDataKey: row.beneficiaryWrappedKey,
          ciphertext: row.beneficiaryCiphertext,
        },
        legacy: null,
      });
    }
    return new SealedBeneficiary({ payoutId: row.id, sealed: null, legacy: row.beneficiary as Beneficiary });
  }

  /**
   * The masked view of a row's readable `beneficiary` column: stored as such once the row is
   * sealed; masked here for a legacy row (`sealed` false), which holds the full beneficiary.
   */
  static maskedView(beneficiary: BeneficiaryRow['beneficiary'], { sealed }: { sealed: boolean }): MaskedBeneficiary {
    return sealed ? beneficiary : maskBeneficiary(beneficiary as Beneficiary);
  }

  toJSON(): string {
    return '[sealed]';
  }

  [inspect.custom](): string {
    return 'SealedBeneficiary [sealed]';
  }
}

/**
 * The envelope id of a payout's beneficiary. Prefixed so that the AAD of a beneficiary can never
 * equal a credential's or an event subscription's (those use their bare uuid): a ciphertext copied
 * between tables, or onto another payout, does not open.
 */
const envelopeId = (payoutId: string) => `payout-beneficiary:${payoutId}`;

/**
 * The fingerprint key is derived (HKDF-SHA256, fixed label) from the master key that wraps the
 * row's data key, so beneficiary_master_key_id names the key of both, and no other secret has to
 * be generated, stored, backed up or rotated. Keyed, because an unkeyed hash of a CPF (about 10^9
 * valid values) or of an IBAN whose bank and last digits are known is reversed by brute force
 * from a dump in minutes. A master key rotation therefore changes fingerprints: the rotation
 * command opens each beneficiary anyway to re-wrap it and writes the new fingerprint in the same
 * update, and while it runs a lookup matches the fingerprints under every key of the ring
 * (fingerprints()).
 */
const FINGERPRINT_LABEL = 'payments-backend/payout-beneficiary-fingerprint/v1';

/**
 * Seals payout beneficiaries with the vault's envelope scheme, opens them for the provider call,
 * and fingerprints them for equality lookups. Pure CPU, no database: the callers write the columns.
 */
@Injectable()
export class PayoutBeneficiaries {
  /** HKDF once per master key, not once per payout. */
  private readonly fingerprintKeys = new Map<string, Buffer>();

  constructor(private readonly keyring: MasterKeyring) {}

  get currentMasterKeyId(): string {
    return this.keyring.current.id;
  }

  /** A new payout's beneficiary columns: masked view, full beneficiary sealed under the current master key, fingerprint. */
  seal(payoutId: string, beneficiary: Beneficiary): BeneficiaryColumns {
    const sealed = seal(this.keyring, envelopeId(payoutId), Buffer.from(JSON.stringify(beneficiary), 'utf8'));
    return {
      beneficiary: maskBeneficiary(beneficiary),
      beneficiaryMasterKeyId: sealed.masterKeyId,
      beneficiaryWrappedKey: sealed.wrappedDataKey,
      beneficiaryCiphertext: sealed.ciphertext,
      beneficiaryFingerprint: this.fingerprint(beneficiary, sealed.masterKeyId),
    };
  }

  /**
   * The full beneficiary, for the provider call and nothing else: keep it in a local variable,
   * never store, log or return it. Throws SealedSecretError (no secret in its message) when the
   * ciphertext was altered or moved, or its master key is not in the ring.
   */
  open(sealed: SealedBeneficiary): Beneficiary {
    const contents = contentsOf(sealed);
    if (!contents.sealed) return contents.legacy as Beneficiary;
    return JSON.parse(
      open(this.keyring, envelopeId(contents.payoutId), contents.sealed).toString('utf8'),
    ) as Beneficiary;
  }

  /**
   * For the master key rotation: the data key re-wrapped under the current master key (the
   * ciphertext stays) and the fingerprint under the current key's label-derived HMAC key.
   */
  rewrap(
    payoutId: string,
    sealed: SealedSecret,
  ): Pick<BeneficiaryColumns, 'beneficiaryMasterKeyId' | 'beneficiaryWrappedKey' | 'beneficiaryFingerprint'> {
    const id = envelopeId(payoutId);
    const beneficiary = JSON.parse(open(this.keyring, id, sealed).toString('utf8')) as Beneficiary;
    const rewrapped = rewrap(this.keyring, id, sealed);
    return {
      beneficiaryMasterKeyId: rewrapped.masterKeyId,
      beneficiaryWrappedKey: rewrapped.wrappedDataKey,
      beneficiaryFingerprint: this.fingerprint(beneficiary, rewrapped.masterKeyId),
    };
  }

  /** HMAC-SHA256 (hex) of the beneficiary's canonical account identifier under the given master key's fingerprint key. */
  fingerprint(beneficiary: Beneficiary, masterKeyId = this.keyring.current.id): string {
    return createHmac('sha256', this.fingerprintKey(masterKeyId)).update(canonicalAccount(beneficiary)).digest('hex');
  }

  /**
   * What to look for in payouts.beneficiary_fingerprint to find payouts to this account: one
   * fingerprint per master key in the ring, so that lookups keep working while a rotation runs.
   */
  fingerprints(beneficiary: Beneficiary): string[] {
    return this.keyring.ids.map((id) => this.fingerprint(beneficiary, id));
  }

  /**
   * A provider's error text can echo what it was sent ("IBAN DE89… is invalid"); it is stored as
   * the failure reason and in the history, so the beneficiary's identifiers are masked out of it.
   */
  redact<E>(error: E, beneficiary: Beneficiary | undefined): E {
    if (!beneficiary || !(error instanceof Error)) return error;
    let message = error.message;
    for (const [text, masked] of identifiers(beneficiary)) {
      if (text.length >= 4) message = message.split(text).join(masked);
    }
    if (message !== error.message) error.message = message;
    return error;
  }

  private fingerprintKey(masterKeyId: string): Buffer {
    let key = this.fingerprintKeys.get(masterKeyId);
    if (!key) {
      const master = this.keyring.get(masterKeyId);
      if (!master) throw new Error(`Master key ${masterKeyId} is not in the keyring; cannot fingerprint with it.`);
      key = Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), FINGERPRINT_LABEL, 32));
      this.fingerprintKeys.set(masterKeyId, key);
    }
    return key;
  }
}

/** Spaces, dots, dashes and slashes are formatting ("849.325.682-07", "DE89 3704 …"), not identity. */
const normalise = (value: string | undefined) =>
  value === undefined ? null : value.replace(/[\s./-]/g, '').toUpperCase();

/**
 * Where the money goes, one unambiguous string per account (a JSON array, so no separator can be
 * forged): rail + country + document + bank/branch/account for Latin American bank accounts, the
 * IBAN, or the card token (case kept: tokens are case-sensitive). Names, e-mails and addresses
 * are not part of it: a typo in a name is still the same account.
 */
export function canonicalAccount(beneficiary: Beneficiary): string {
  switch (beneficiary.type) {
    case 'iban':
      return JSON.stringify(['iban', normalise(beneficiary.iban)]);
    case 'card':
      return JSON.stringify(['card', beneficiary.cardToken]);
    default: {
      const key = paymentKey(beneficiary);
      return JSON.stringify([
        'latam_bank_account',
        beneficiary.country.toUpperCase(),
        normalise(beneficiary.documentId),
        beneficiary.bankCode ?? null,
        normalise(beneficiary.bankBranch),
        normalise(beneficiary.bankAccount),
        // Only when paid to a key: bank accounts keep the fingerprints they were stored under.
        ...(key === undefined ? [] : [key]),
      ]);
    }
  }
}

/**
 * Without a bank account, a Latin American payout goes to a key (a PIX phone or email key, a
 * wallet's phone): that key is the account, so two keys of one person are two accounts.
 */
function paymentKey(beneficiary: LatamBankBeneficiary): string | undefined {
  if (beneficiary.bankAccount !== undefined) return undefined;
  if (beneficiary.phone !== undefined) return `phone:${beneficiary.phone.replace(/[^\d+]/g, '')}`;
  if (beneficiary.email !== undefined) return `email:${beneficiary.email.trim().toLowerCase()}`;
  return undefined;
}

/** The values that must never appear in full outside the sealed columns (and the provider call), each with its mask. */
function identifiers(beneficiary: Beneficiary): Array<[text: string, masked: string]> {
  switch (beneficiary.type) {
    case 'iban': {
      // As sent, compact, and in the print format (groups of four) a provider may echo.
      const compact = beneficiary.iban.replace(/\s/g, '');
      const masked = maskValue(compact);
      return [...new Set([beneficiary.iban, compact, compact.replace(/(.{4})(?!$)/g, '$1 ')])].map((text) => [
        text,
        masked,
      ]);
    }
    case 'card':
      return [[beneficiary.cardToken, maskValue(beneficiary.cardToken)]];
    default:
      // Phone and email too: as PIX keys or a wallet's number they are where the money goes.
      return [beneficiary.documentId, beneficiary.bankAccount, beneficiary.phone, beneficiary.email]
        .filter((value): value is string => Boolean(value))
        .map((text) => [text, maskValue(text)]);
  }
}
