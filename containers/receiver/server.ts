import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/logger.ts';
import { createReceiverApp, type ReceiverDependencies } from './app.ts';

export interface ReceiverServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), then closes every connection. */
  stop(): Promise<void>;
}

export interface ReceiverServerOptions extends ReceiverDependencies {
  port: number;
  host?: string;
  shutdownTimeoutMs: number;
  logger: Logger;
}

export async function startReceiver(options: ReceiverServerOptions): Promise<ReceiverServer> {
  const app = createReceiverApp(options);
  let stopping = false;
  const handler = app.callback();
  const server = createServer((req, res) => {
    // While draining, tell keep-alive clients (and the load balancer) to open a new connection elsewhere.
    if (stopping) res.setHeader('Connection', 'close');
    // A keep-alive connection whose last request finishes during the drain is closed right after.
    res.once('finish', () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
    void handler(req, res);
  });
  // Longer than the load balancer's idle timeout (60 s), so the balancer closes first, never us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : 'localhost'}:${port}`;
  options.logger.info({ event: 'receiver.listening', port, url }, `receiver listening on ${url}`);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      stopping = true;
      const force = setTimeout(() => {
        options.logger.warn({ event: 'receiver.forced_close' }, 'shutdown timeout: closing open connections');
        server.closeAllConnections();
      }, options.shutdownTimeoutMs);
      server.close(() => {
        clearTimeout(force);
        options.logger.info({ event: 'receiver.stopped' }, 'receiver stopped');
        resolve();
      });
      server.closeIdleConnections();
    });
    return stopped;
  };
  return { server, port, url, stop };
}
