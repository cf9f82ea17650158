import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { ServerOptions } from 'node:https';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  peerCertificateSubject?: string;
}

export interface Answer {
  status: number;
  body: string;
  /** Extra response headers (e.g. Location for a redirect). */
  headers?: Record<string, string>;
}

/** A local endpoint that records what a simulator sends and answers as told. */
export class Receiver {
  readonly received: Received[] = [];
  /** What to answer next; falls back to `otherwise`. */
  readonly answers: Answer[] = [];
  otherwise: Answer = { status: 200, body: 'OK' };
  private server: Server | undefined;

  async start(tls?: ServerOptions): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const socket = req.socket as TLSSocket;
        const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
        this.received.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          peerCertificateSubject: peer?.subject ? String(peer.subject.CN) : undefined,
        });
        const answer = this.answers.shift() ?? this.otherwise;
        res.writeHead(answer.status, { 'Content-Type': 'text/plain', ...answer.headers });
        res.end(answer.body);
      });
    };
    const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections()));
  }
}
