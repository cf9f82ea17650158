import Busboy from 'busboy';
import { parse } from 'csv-parse';
import type { Request } from 'express';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { checkCsvHeader, csvRecordToItem, MAX_BATCH_ROWS } from './domain/batch-rows';

/** The largest CSV accepted: 10,000 rows of about 300 bytes, with room to spare. */
export const MAX_CSV_BYTES = 10 * 1024 * 1024;

export interface CsvUpload {
  items: Array<Record<string, unknown>>;
  fileName: string | null;
  dryRun: boolean;
  skipInvalid: boolean;
}

const FLAGS = { true: true, false: false } as const;

/**
 * Reads a multipart/form-data batch upload as it arrives: the `file` part is parsed as CSV while
 * it streams (never held whole), the header is checked before any row, and the upload stops at
 * once past 10,000 rows or 10 MiB. Form fields `dryRun` and `skipInvalid` are "true" or "false".
 */
export async function readCsvUpload(request: Request): Promise<CsvUpload> {
  let busboy: Busboy.Busboy;
  try {
    busboy = Busboy({
      headers: request.headers,
      limits: { files: 1, fileSize: MAX_CSV_BYTES, fields: 5, fieldSize: 100, parts: 6 },
    });
  } catch {
    throw unreadable('The upload must be multipart/form-data with the CSV in a part named "file".', null);
  }
  const upload: CsvUpload = { items: [], fileName: null, dryRun: false, skipInvalid: false };
  let sawFile = false;
  const parsing: Array<Promise<void>> = [];
  const fieldProblems: Array<{ field: string; code: string; message: string }> = [];
  let failure: unknown = null;

  // Past a limit busboy drops the part without a word: a second file's rows, or a dryRun=true
  // that would have kept the upload from paying. The whole upload is refused instead.
  const tooManyParts = () => {
    if (fieldProblems.some((problem) => problem.code === 'TOO_MANY_PARTS')) return;
    fieldProblems.push({
      field: 'file',
      code: 'TOO_MANY_PARTS',
      message: 'send one CSV in the part named "file", and at most the fields dryRun and skipInvalid',
    });
  };
  busboy.on('filesLimit', tooManyParts);
  busboy.on('fieldsLimit', tooManyParts);
  busboy.on('partsLimit', tooManyParts);

  busboy.on('field', (name, value) => {
    if (name !== 'dryRun' && name !== 'skipInvalid') {
      fieldProblems.push({ field: name, code: 'UNKNOWN_FIELD', message: 'is not a known field; remove it' });
      return;
    }
    const flag = FLAGS[value as keyof typeof FLAGS];
    if (flag === undefined) fieldProblems.push({ field: name, code: 'IS_BOOLEAN', message: 'must be true or false' });
    else upload[name] = flag;
  });

  busboy.on('file', (name, stream, info) => {
    if (name !== 'file' || sawFile) {
      stream.resume();
      fieldProblems.push({ field: name, code: 'UNKNOWN_FIELD', message: 'send one CSV, in the part named "file"' });
      return;
    }
    sawFile = true;
    upload.fileName = info.filename ? info.filename.slice(0, 255) : null;
    // A failure (size, row count, a bad header or quote, the client going away) is recorded and
    // the rest of the part drained, never thrown from here: the file stream is busboy's, and
    // destroying it would stall busboy (and the request) until the request timeout. The promise
    // below never rejects, so no failure can become an unhandled rejection.
    const parser = parse({
      bom: true,
      skip_empty_lines: true,
      // Whatever each line ends with: a spreadsheet's export and a hand edit may mix them, and
      // csv-parse otherwise takes the first line's ending for all (a CR left in a cell, or a refusal).
      record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: 64 * 1024,
      columns: (header: string[]) => {
        const problems = checkCsvHeader(header);
        if (problems.length) throw unreadable('The CSV header has columns this API does not know or needs.', problems);
        return header;
      },
    });
    parsing.push(
      new Promise<void>((resolve) => {
        const fail = (error: unknown) => {
          failure ??= error;
          stream.unpipe(parser);
          stream.resume();
          resolve();
        };
        stream.on('limit', () =>
          fail(
            new ApiError(
              413,
              ErrorCode.BATCH_TOO_LARGE,
              `The file is over ${MAX_CSV_BYTES / 1024 / 1024} MiB. Split the batch.`,
              {
                limitBytes: MAX_CSV_BYTES,
              },
            ),
          ),
        );
        stream.on('error', fail);
        parser.on('error', fail);
        parser.on('data', (record: Record<string, string>) => {
          if (failure) return;
          if (upload.items.length >= MAX_BATCH_ROWS) {
            fail(
              new ApiError(
                413,
                ErrorCode.BATCH_TOO_LARGE,
                `A batch has at most ${MAX_BATCH_ROWS} rows. Split the file.`,
                {
                  maxRows: MAX_BATCH_ROWS,
                },
              ),
            );
            return;
          }
          upload.items.push(csvRecordToItem(record));
        });
        parser.on('end', () => resolve());
        stream.on('end', () => {
          if (failure) resolve();
        });
        stream.pipe(parser);
      }),
    );
  });

  await pipeline(request, busboy).catch((error: unknown) => {
    throw error instanceof ApiError ? error : unreadable('The upload could not be read as multipart/form-data.', null);
  });
  await Promise.all(parsing);
  if (failure) {
    if (failure instanceof ApiError) throw failure;
    // csv-parse says where: "Invalid Closing Quote: … at line 3" (its messages quote no cell beyond the error).
    const where = (failure as { lines?: number }).lines;
    throw unreadable(
      `The file is not a readable CSV${where ? ` (line ${where})` : ''}: check its quotes and that every row has the header's columns.`,
      where ? { line: where } : null,
    );
  }
  if (fieldProblems.length) throw ApiError.validation(fieldProblems);
  if (!sawFile) throw ApiError.validation([{ field: 'file', code: 'REQUIRED', message: 'attach the CSV as "file"' }]);
  return upload;
}

function unreadable(message: string, details: unknown): ApiError {
  return new ApiError(400, ErrorCode.BATCH_FILE_UNREADABLE, message, details);
}
