import type { ValidationArguments, ValidationOptions } from 'class-validator';
import { registerDecorator } from 'class-validator';
import { bankAccountProblem, bankBranchProblem, documentProblem, type NumberProblem } from './domain/latam-documents';

interface LatamAccountFields {
  country?: unknown;
  documentType?: unknown;
}

function fieldsOf(args: ValidationArguments): { country: string; documentType?: string } {
  const object = args.object as LatamAccountFields;
  return {
    country: typeof object.country === 'string' ? object.country : '',
    documentType: typeof object.documentType === 'string' ? object.documentType : undefined,
  };
}

/**
 * A class-validator rule on a property checked against the beneficiary's country (and document
 * type): refused as VALIDATION_FAILED with code `name` in UPPER_SNAKE and the rule's own sentence.
 */
function countryRule(name: string, problemOf: (value: string, args: ValidationArguments) => NumberProblem | null) {
  return (options?: ValidationOptions): PropertyDecorator =>
    (target, propertyName) => {
      registerDecorator({
        name,
        target: target.constructor,
        propertyName: String(propertyName),
        options,
        validator: {
          validate: (value: unknown, args: ValidationArguments) =>
            typeof value !== 'string' || problemOf(value, args) === null,
          defaultMessage: (args: ValidationArguments) =>
            problemOf(String(args.value), args)?.message ?? 'is not valid for the country',
        },
      });
    };
}

/** documentId: the check digits and shape of the document type used in the beneficiary's country (CPF, CNPJ, RUT, CUIT …). */
export const IsDocumentOfCountry = countryRule('invalidDocument', (value, args) => {
  const { country, documentType } = fieldsOf(args);
  return documentProblem(country, value, documentType);
});

/**
 * bankAccount: the country's account rule (Mexico's CLABE, Argentina's CBU/CVU check digits,
 * Brazil's conta, digits elsewhere; see latam-documents.ts).
 */
export const IsBankAccountOfCountry = countryRule('invalidBankAccount', (value, args) =>
  bankAccountProblem(fieldsOf(args).country, value),
);

/** bankBranch: Brazil's agência (4 digits and an optional check digit). */
export const IsBankBranchOfCountry = countryRule('invalidBankBranch', (value, args) =>
  bankBranchProblem(fieldsOf(args).country, value),
);

/**
 * Whether a value is a card number (PAN) in any disguise: its digits alone (separators such as
 * spaces, dashes or underscores ignored) are 12 to 19 long and pass the Luhn check, whatever the
 * issuer. Stricter than an issuer list on purpose: a false positive costs a re-sent token, a
 * false negative puts PANs in storage, logs and PCI DSS scope.
 */
export function looksLikeCardNumber(value: string): boolean {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 12 || digits.length > 19 || digits.length < value.replace(/[\s_\-.]/g, '').length) return false;
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** cardToken: refused when it is a card number (looksLikeCardNumber), so a PAN never reaches storage, logs or a provider. */
export function NotCardNumber(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'panNotAllowed',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: { validate: (value: unknown) => typeof value !== 'string' || !looksLikeCardNumber(value) },
    });
  };
}
