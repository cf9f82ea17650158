/** Shared parsing rules for environment variables (core settings and each provider's settings class). */

/** Empty strings in the environment mean "not set" (a blank line in .env must not become a value). */
export const blankToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

export const HTTPS_URL = /^https:\/\/[^\s/]+(\/\S*)?$/;

export const toInt = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string' || value.trim() === '') return value;
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
};
