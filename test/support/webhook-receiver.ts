// A webhook receiver for tests: a real HTTP server on a free loopback port that records each request (headers,
// raw body, the SDK's verdict on its signature) and answers with the status `answer` picks for it.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SIGNATURE_HEADER,
  verifyWebhook,
  type WebhookVerdict,
} from '../../services/sdk/webhook-signature.js';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly verdict: WebhookVerdict;
  /** What the receiver answered. */
  readonly status: number;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** The status of the n-th request (0-based); 200 unless changed. */
  answer: (n: number) => number;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => 200,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers[SIGNATURE_HEADER];
      const verdict = verifyWebhook({
        secret,
        header: typeof header === 'string' ? header : undefined,
        body,
      });
      const status = receiver.answer(received.length);
      received.push({ headers: req.headers, body, verdict, status, at: performance.now() });
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/hooks/relayguard` });
}
