import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestsInFlight } from './requests-in-flight';

/** A real server whose handler answers (or destroys its answer) when the test says so. */
async function serve(
  inFlight: RequestsInFlight,
): Promise<{ server: Server; port: number; next: () => Promise<ServerResponse> }> {
  const arrived: Array<(response: ServerResponse) => void> = [];
  const server = createServer((req, res) => inFlight.count(req, res, () => arrived.shift()?.(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    next: () => new Promise((resolve) => arrived.push(resolve)),
  };
}

function send(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(`answered ${res.statusCode}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe('RequestsInFlight', () => {
  it('counts a request until its answer is ended, even after its connection was cut', async () => {
    const inFlight = new RequestsInFlight();
    const { server, port, next } = await serve(inFlight);
    try {
      const handled = next();
      const client = send(port);
      const response = await handled;
      server.closeAllConnections(); // the drain's cut: the handler is still working
      expect(await client).toBe('ECONNRESET');
      expect(await inFlight.settled(50)).toBe(1);
      const settled = inFlight.settled(5_000);
      response.end('late');
      expect(await settled).toBe(0);
    } finally {
      server.close();
    }
  });

  it('counts a request until its answer is destroyed (a stream that failed)', async () => {
    const inFlight = new RequestsInFlight();
    const { server, port, next } = await serve(inFlight);
    try {
      const handled = next();
      const client = send(port);
      (await handled).destroy();
      expect(await client).toBe('ECONNRESET');
      expect(await inFlight.settled(0)).toBe(0);
    } finally {
      server.close();
    }
  });

  it('counts each request once, however often its answer is ended', async () => {
    const inFlight = new RequestsInFlight();
    const { server, port, next } = await serve(inFlight);
    try {
      const first = next();
      const second = next();
      const clients = [send(port), send(port)];
      const [a, b] = await Promise.all([first, second]);
      a.end('one');
      a.end();
      a.destroy();
      expect(await inFlight.settled(20)).toBe(1);
      b.end('two');
      expect(await inFlight.settled(1_000)).toBe(0);
      expect(await Promise.all(clients)).toEqual(['answered 200', 'answered 200']);
    } finally {
      server.close();
    }
  });
});
