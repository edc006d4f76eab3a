import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../../lib/logger.ts';
import { createReceiverApp, type ReceiverDependencies } from './app.ts';
import { HttpProblem } from './http-problem.ts';
import { DEFAULT_BODY_TIMEOUT_MS } from './json-body.ts';

export interface ReceiverServer {
  server: Server;
  port: number;
  url: string;
  /**
   * Stops accepting, closes idle connections, answers every request in progress by the drain
   * deadline (shutdownTimeoutMs, less a margin; work still under way then is answered 503), then
   * closes every connection.
   */
  stop(): Promise<void>;
}

export interface ReceiverServerOptions extends Omit<ReceiverDependencies, 'shutdownSignal' | 'admission'> {
  port: number;
  host?: string;
  /** The drain deadline after stop() (SHUTDOWN_TIMEOUT_MS): nothing runs past it. */
  shutdownTimeoutMs: number;
  /** Connections served at once (MAX_CONNECTIONS); requests on the ones beyond are answered 503. */
  maxConnections?: number;
  logger: Logger;
}

export const DEFAULT_MAX_CONNECTIONS = 1_000;

/** Longer than the load balancer's idle timeout (60 s), so the balancer closes an idle connection first, never us. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * A request's headers must arrive within this long of its first byte (of the connection's opening
 * for its first request). Node does not apply it to an idle keep-alive connection between requests.
 */
export const HEADERS_TIMEOUT_MS = 10_000;

/** Time kept, before the drain deadline, to write the answers of work cut short. */
const ANSWER_MARGIN_MS = 1_000;

/**
 * The HTTP server around the receiver app, with its bounds:
 * - a body must arrive whole within `bodyTimeoutMs` of the headers (408, by the app); Node's own
 *   request timeout (headers + body + 1 s, checked every second) closes anything the app does not
 *   read, and connections whose headers stall;
 * - at most `maxConnections` connections are served; a request on a connection beyond them is
 *   answered 503 `too_many_connections` with `Connection: close` (GET /health excepted), and past
 *   twice the bound Node closes new connections at once;
 * - stop() drains: see ReceiverServer.stop.
 */
export async function startReceiver(options: ReceiverServerOptions): Promise<ReceiverServer> {
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const drain = new AbortController();
  let stopping = false;

  const overLimit = new WeakSet<Socket>();
  let connections = 0;
  const admission = (req: IncomingMessage) =>
    overLimit.has(req.socket)
      ? new HttpProblem(503, 'too_many_connections', `the receiver serves at most ${maxConnections} connections at once; retry`, {
          headers: { 'Retry-After': '1', Connection: 'close' },
        })
      : undefined;

  const app = createReceiverApp({ ...options, bodyTimeoutMs, shutdownSignal: drain.signal, admission });
  const handler = app.callback();
  /** Responses not yet finished: at stop, each is told to close its connection after it. */
  const inFlight = new Set<ServerResponse>();

  const server = createServer(
    {
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: HEADERS_TIMEOUT_MS + bodyTimeoutMs + 1_000,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(bodyTimeoutMs / 4))),
    },
    (req, res) => {
      // While draining, tell keep-alive clients (and the load balancer) to open a new connection elsewhere.
      if (stopping) res.setHeader('Connection', 'close');
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
      void handler(req, res);
    },
  );
  server.on('connection', (socket: Socket) => {
    connections += 1;
    if (connections > maxConnections) overLimit.add(socket);
    socket.once('close', () => (connections -= 1));
  });
  // The hard bound: past it Node closes a new connection without reading it.
  server.maxConnections = 2 * maxConnections;
  server.on('drop', () => options.logger.warn({ event: 'http.connection_dropped', max_connections: server.maxConnections }, 'connection dropped: too many'));

  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : 'localhost'}:${port}`;
  options.logger.info({ event: 'receiver.listening', port, url, max_connections: maxConnections, body_timeout_ms: bodyTimeoutMs }, `receiver listening on ${url}`);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      stopping = true;
      // Orders waiting to be batched go to SNS now, and later ones as they come: nothing accepted
      // is held back while the receiver drains. The accepted records being written are waited for.
      const flushed = options.orders.flush();
      const deadlineMs = options.shutdownTimeoutMs;
      // Requests in progress close their connection once answered, instead of waiting idle.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      // Work still under way by then is cut and answered 503, before the connections are closed.
      const cut = setTimeout(() => drain.abort(new Error('drain deadline')), Math.max(0, deadlineMs - Math.min(ANSWER_MARGIN_MS, deadlineMs / 2)));
      const force = setTimeout(() => {
        options.logger.warn({ event: 'receiver.forced_close', open_responses: inFlight.size }, 'shutdown timeout: closing open connections');
        server.closeAllConnections();
      }, deadlineMs);
      // server.close() closes idle keep-alive connections at once. A request that has reached the
      // socket but is not read yet would make such a connection look idle and be reset: first let
      // the event loop read what has arrived (it becomes a request in progress), then close.
      setImmediate(() =>
        server.close(() => {
          void flushed.finally(() => {
            clearTimeout(cut);
            clearTimeout(force);
            options.logger.info({ event: 'receiver.stopped' }, 'receiver stopped');
            resolve();
          });
        }),
      );
    });
    return stopped;
  };
  return { server, port, url, stop };
}
