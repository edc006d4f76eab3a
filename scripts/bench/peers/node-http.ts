import { createServer } from 'node:http';
import { acceptOrderText, listenOnLoopback, type PublishOrder, type RunningPeer } from './order-work.ts';

/** The ceiling: bare node:http doing the same work per order (read, parse, validate, Publish, 202), no framework. */
export async function startNodeHttpPeer(publish: PublishOrder, port = 0): Promise<RunningPeer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = req.method === 'POST' && req.url === '/orders/async'
        ? acceptOrderText(Buffer.concat(chunks).toString('utf8'), publish)
        : Promise.resolve({ status: 404, body: { error: { code: 'not_found', message: 'POST /orders/async only' } } });
      void answer.then(({ status, body }) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
  });
  return listenOnLoopback(server, port);
}
