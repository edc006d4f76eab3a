import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { acceptOrderText, type PublishOrder, type RunningPeer } from './order-work.ts';

/** A minimal Koa app doing the receiver's work per order: no router, no middleware, no logging. */
export async function startKoaPeer(publish: PublishOrder, port = 0): Promise<RunningPeer> {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    if (ctx.method !== 'POST' || ctx.path !== '/orders/async') {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: 'POST /orders/async only' } };
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    const { status, body } = await acceptOrderText(Buffer.concat(chunks).toString('utf8'), publish);
    ctx.status = status;
    ctx.body = body;
  });
  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
