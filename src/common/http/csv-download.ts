import { stringify } from 'csv-stringify';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Writes a CSV to `destination` (the HTTP response) with backpressure: a slow client slows the
 * reads from PostgreSQL, it does not fill memory. The first record is read before anything is
 * written, so a failure there (database busy) is still an ordinary JSON error answer; a failure
 * later destroys the response, so the client sees a broken transfer, never a short file that
 * looks complete. A client that goes away stops the reads. Cells a spreadsheet would run as a
 * formula (=, +, -, @, tab, CR first) are escaped with a leading quote: references and names are
 * text that others typed, and opening the file must not execute it. UTF-8 with a byte-order mark
 * and CRLF line ends (RFC 4180), for spreadsheets.
 */
export async function writeCsv<T, C extends string>(
  records: AsyncIterable<T>,
  toRow: (record: T) => Record<C, string>,
  columns: readonly C[],
  destination: Writable,
  beforeFirstByte: () => void,
): Promise<void> {
  const iterator = records[Symbol.asyncIterator]();
  const first = await iterator.next();
  beforeFirstByte();
  const rows = Readable.from(
    (async function* () {
      if (first.done) return;
      yield toRow(first.value);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield toRow(next.value);
    })(),
  );
  try {
    await pipeline(
      rows,
      stringify({ header: true, columns: [...columns], escape_formulas: true, record_delimiter: 'windows', bom: true }),
      destination,
    );
  } catch (error) {
    // pipeline leaves alone a response whose client already went away (it is marked destroyed,
    // but nothing destroyed it). Destroying it here says the request is over for the app: the
    // shutdown's count of requests still being worked on (RequestsInFlight) would wait for it.
    destination.destroy();
    throw error;
  }
}
