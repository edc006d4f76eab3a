import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsumerStats } from '../lib/queue-consumer.ts';
import type { LambdaStats } from './lambda-invoker.ts';
import type { TimedReport } from './lambda-runtime/platform-lines.ts';

/** Counters of the local stack since it started, for `npm run monitor`. */
export interface LocalStats {
  started_at: string;
  processor: ConsumerStats | null;
  lambda: LambdaStats | null;
}

/** The answer of `GET /lambda/reports`: the local Lambda's REPORT figures, oldest first. */
export interface LambdaReports {
  reports: TimedReport[];
}

const NO_LAMBDA = JSON.stringify({
  error: { code: 'no_lambda', message: 'this stack runs no Lambda (start it with npm start -- --processor lambda or both)' },
});

/**
 * A loopback-only JSON endpoint, `GET /stats`, with the local stack's counters. On AWS the same
 * figures come from CloudWatch (NumberOfMessagesDeleted, Lambda Invocations); locally there is
 * no CloudWatch, so the stack reports them itself.
 *
 * `GET /lambda/reports` answers `{"reports": [...]}` from `readReports`, the REPORT lines of the
 * local Lambda's invocations with their times (`npm run logs -- --local --cold-starts`); without
 * `readReports`, or when it gives null (a stack without the Lambda), it answers 404 with
 * `{"error":{"code":"no_lambda",...}}`.
 */
export async function startStatsServer(
  port: number,
  read: () => LocalStats,
  readReports?: () => TimedReport[] | null,
): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(read()));
    } else if (req.method === 'GET' && req.url === '/lambda/reports') {
      const reports = readReports?.() ?? null;
      if (reports === null) res.writeHead(404, { 'content-type': 'application/json' }).end(NO_LAMBDA);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ reports } satisfies LambdaReports));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"GET /stats or GET /lambda/reports"}}');
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
