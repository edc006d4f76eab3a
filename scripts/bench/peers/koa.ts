import { createServer } from 'node:http';
import Koa from 'koa';
import { acceptOrderText, listenOnLoopback, type PublishOrder, type RunningPeer } from './order-work.ts';

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
  return listenOnLoopback(server, port);
}
