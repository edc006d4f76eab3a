import Fastify from 'fastify';
import { acceptParsedOrder, type PublishOrder, type RunningPeer } from './order-work.ts';

/** A fastify app doing the receiver's work per order: fastify's own JSON body parser, then the project's schema and one Publish. */
export async function startFastifyPeer(publish: PublishOrder, port = 0): Promise<RunningPeer> {
  const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
  app.post('/orders/async', async (request, reply) => {
    const { status, body } = await acceptParsedOrder(request.body, publish);
    return reply.code(status).send(body);
  });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return { url: `http://127.0.0.1:${boundPort}`, stop: () => app.close() };
}
