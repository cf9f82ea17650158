import express, { type Response } from 'express';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { writeCsv } from './csv-download';
import { afterAnswer, RequestsInFlight } from './requests-in-flight';

/**
 * A real Express server with the counter first: `/work` is a route whose handler answers when the
 * test says so; `/file` is no route, a stream piped into the answer that never ends (as a static
 * file does); `/csv` streams an endless CSV through writeCsv.
 */
async function serve(inFlight: RequestsInFlight) {
  const arrived: Array<(response: Response) => void> = [];
  const app = express();
  app.use(inFlight.count);
  app.get('/work', (_request, response) => arrived.shift()?.(response));
  // Answers at once, then works until the test says so (as ConnectPay's notification fetch does).
  const afterwards: Array<() => void> = [];
  app.get('/answer-then-work', (request, response) => {
    response.status(200).end('OK');
    afterAnswer(request, () => new Promise<void>((resolve) => afterwards.push(resolve)));
  });
  app.get('/answer-then-throw', (request, response) => {
    response.status(200).end('OK');
    afterAnswer(request, () => {
      throw new Error('thrown before any promise');
    });
  });
  app.get('/csv', (_request, response) => {
    async function* endless() {
      for (let i = 0; ; i++) yield { n: String(i) };
    }
    writeCsv(
      endless(),
      (record) => record,
      ['n'],
      response,
      () => response.status(200),
    ).catch(() => undefined);
  });
  app.use('/file', (_request, response) => {
    response.status(200);
    new Readable({ read: () => undefined }).pipe(response);
    response.write('first bytes');
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    next: () => new Promise<Response>((resolve) => arrived.push(resolve)),
    /** Ends the oldest work started after an answer. */
    finishAfterwards: () => afterwards.shift()?.(),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A GET that resolves with how it ended; `abortAfterFirstChunk` drops it once the first bytes arrived. */
function get(port: number, path: string, options: { abortAfterFirstChunk?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.once('data', () => {
        if (options.abortAfterFirstChunk) outgoing.destroy();
      });
      res.on('end', () => resolve(`answered ${res.statusCode}`));
      res.on('error', () => undefined);
    });
    outgoing.on('close', () => resolve('closed'));
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    outgoing.end();
  });
}

describe('RequestsInFlight', () => {
  it('counts the work a request leaves to run after its answer until that work is done', async () => {
    const inFlight = new RequestsInFlight();
    const world = await serve(inFlight);
    try {
      expect(await get(world.port, '/answer-then-work')).toBe('answered 200');
      expect(await inFlight.settled(50)).toBe(1);
      const settled = inFlight.settled(5_000);
      world.finishAfterwards();
      expect(await settled).toBe(0);
      // Work that throws at once ends its count too (and throws nowhere that could stop the process).
      expect(await get(world.port, '/answer-then-throw')).toBe('answered 200');
      expect(await inFlight.settled(1_000)).toBe(0);
    } finally {
      world.close();
    }
  });

  it('counts a routed request until its answer is ended, even after its connection was cut', async () => {
    const inFlight = new RequestsInFlight();
    const world = await serve(inFlight);
    try {
      const handled = world.next();
      const client = get(world.port, '/work');
      const response = await handled;
      world.server.closeAllConnections(); // the drain's cut: the handler is still working
      expect(await client).toBe('ECONNRESET');
      expect(await inFlight.settled(50)).toBe(1);
      const settled = inFlight.settled(5_000);
      response.end('late');
      expect(await settled).toBe(0);
    } finally {
      world.close();
    }
  });

  it('counts a routed request until its answer is destroyed', async () => {
    const inFlight = new RequestsInFlight();
    const world = await serve(inFlight);
    try {
      const handled = world.next();
      const client = get(world.port, '/work');
      (await handled).destroy();
      expect(await client).toBe('ECONNRESET');
      expect(await inFlight.settled(0)).toBe(0);
    } finally {
      world.close();
    }
  });

  it('counts each request once, however often its answer is ended', async () => {
    const inFlight = new RequestsInFlight();
    const world = await serve(inFlight);
    try {
      const first = world.next();
      const second = world.next();
      const clients = [get(world.port, '/work'), get(world.port, '/work')];
      const [a, b] = await Promise.all([first, second]);
      a.end('one');
      a.end();
      expect(await clients[0]).toBe('answered 200');
      a.destroy();
      expect(await inFlight.settled(20)).toBe(1);
      b.end('two');
      expect(await inFlight.settled(1_000)).toBe(0);
      expect(await clients[1]).toBe('answered 200');
    } finally {
      world.close();
    }
  });

  it.each([
    ['a streamed CSV whose client went away mid-file', '/csv'],
    ['a request no route took once its connection closes (a static file piped forever)', '/file'],
  ])('is done with %s', async (_case, path) => {
    const inFlight = new RequestsInFlight();
    const world = await serve(inFlight);
    try {
      await get(world.port, path, { abortAfterFirstChunk: true });
      expect(await inFlight.settled(2_000)).toBe(0);
    } finally {
      world.close();
    }
  });
});
