import { ApiError } from '../errors/api-error';

/**
 * Cursors of lists ordered by a bigint id, newest first: opaque to clients (base64url of
 * `<prefix>:<id>`), and a prefix per list so a cursor of one list is refused by another.
 */
export function encodeIdCursor(prefix: string, id: string): string {
  return Buffer.from(`${prefix}:${id}`).toString('base64url');
}

/** The id in a cursor this API gave out for the list of `prefix`; 400 VALIDATION_FAILED for anything else. */
export function decodeIdCursor(prefix: string, cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([a-z]+):(\d{1,18})$/.exec(decoded);
  if (!match || match[1] !== prefix) throw invalidCursor();
  return match[2];
}

/** decodeIdCursor for lists keyed by an int column: a forged cursor past its range is a 400, never a database error. */
export function decodeIntCursor(prefix: string, cursor: string): number {
  const position = Number(decodeIdCursor(prefix, cursor));
  if (position > INT4_MAX) throw invalidCursor();
  return position;
}

const INT4_MAX = 2 ** 31 - 1;

function invalidCursor(): ApiError {
  return ApiError.validation([
    { field: 'cursor', code: 'INVALID_CURSOR', message: 'is not a cursor this API gave out; start without one' },
  ]);
}
