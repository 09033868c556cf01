// Why this file exists: the browser test must see every byte the page sends and receives, but the
// browser's own record drops the body of a stream the page stops reading (as `useChat` does after
// an `error` chunk). An HTTP proxy in front of the page records each exchange whole — request and
// response, headers and bodies — including answers the page abandoned half way. Test support only.
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request through the proxy and its answer. */
export interface RecordedExchange {
  method: string;
  url: string;
  requestHeaders: IncomingHttpHeaders;
  requestBody: string;
  status: number | undefined;
  responseHeaders: IncomingHttpHeaders;
  /** The whole answer of the upstream server, even when the client stopped reading. */
  responseBody: string;
}

/** A running recording proxy. */
export interface RecordingProxy {
  /** `http://127.0.0.1:PORT`: the proxy server for the browser. */
  url: string;
  exchanges: RecordedExchange[];
  /** Resolves once every exchange so far has ended (its upstream answer complete or failed). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a plain-HTTP forward proxy on 127.0.0.1 that records every exchange. */
export async function startRecordingProxy(): Promise<RecordingProxy> {
  const exchanges: RecordedExchange[] = [];
  const ended: Promise<void>[] = [];
  const server = createServer((req, res) => {
    const requestChunks: Buffer[] = [];
    const responseChunks: Buffer[] = [];
    const exchange: RecordedExchange = { method: req.method ?? 'GET', url: req.url ?? '', requestHeaders: req.headers, requestBody: '', status: undefined, responseHeaders: {}, responseBody: '' };
    exchanges.push(exchange);
    const { 'proxy-connection': _dropped, ...headers } = req.headers;
    ended.push(
      new Promise<void>((resolve) => {
        const finish = () => {
          exchange.responseBody = Buffer.concat(responseChunks).toString('utf8');
          resolve();
        };
        let target: URL;
        try {
          target = new URL(exchange.url); // absolute-form, as clients send to a proxy
        } catch {
          res.writeHead(400).end();
          return finish();
        }
        const upstream = httpRequest(target, { method: exchange.method, headers }, (answer) => {
          exchange.status = answer.statusCode;
          exchange.responseHeaders = answer.headers;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on('data', (chunk: Buffer) => {
            responseChunks.push(chunk);
            if (!res.destroyed) res.write(chunk);
          });
          answer.once('end', () => {
            res.end();
            finish();
          });
          answer.once('error', finish);
        });
        upstream.once('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
          finish();
        });
        req.on('data', (chunk: Buffer) => void requestChunks.push(chunk));
        req.once('end', () => void (exchange.requestBody = Buffer.concat(requestChunks).toString('utf8')));
        req.pipe(upstream);
      }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    async settled() {
      await Promise.all(ended);
    },
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
}
