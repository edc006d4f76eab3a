import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsumerStats } from '../lib/queue-consumer.ts';
import type { LambdaStats } from './lambda-invoker.ts';

/** Counters of the local stack since it started, for `npm run monitor`. */
export interface LocalStats {
  started_at: string;
  processor: ConsumerStats | null;
  lambda: LambdaStats | null;
}

/**
 * A loopback-only JSON endpoint, `GET /stats`, with the local stack's counters. On AWS the same
 * figures come from CloudWatch (NumberOfMessagesDeleted, Lambda Invocations); locally there is
 * no CloudWatch, so the stack reports them itself.
 */
export async function startStatsServer(port: number, read: () => LocalStats): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(read()));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"GET /stats"}}');
    }
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  return {
    server,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
