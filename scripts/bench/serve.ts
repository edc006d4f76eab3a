import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { pino } from 'pino';
import { startFauxqs } from 'fauxqs';
import type { ReceiverOrders } from '../../containers/receiver/app.ts';
import { createOrderIntake, createReceiverPublisher } from '../../containers/receiver/order-intake.ts';
import { startReceiver } from '../../containers/receiver/server.ts';
import { createDynamoDbClient, createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import type { Order } from '../../lib/order-schema.ts';
import { createOrdersTable, startDynamoEmulator } from '../../local/dynamodb-emulator.ts';
import { provisionMessaging } from '../../local/provision.ts';
import { BASELINE_MODULE, type BaselineReceiverModule } from './baseline.ts';
import { withCallCounter } from './call-counter.ts';
import { startFastifyPeer } from './peers/fastify.ts';
import { startKoaPeer } from './peers/koa.ts';
import { startNodeHttpPeer } from './peers/node-http.ts';
import { listenOnLoopback, perOrderPublisher } from './peers/order-work.ts';

/**
 * A benchmark target in a process of its own, so the load generator does not share its event
 * loop: `emulator` (fauxqs, counting the AWS calls it serves by action: scripts/bench/call-counter.ts),
 * `bare` (node:http answering 202 with no work, optionally after BARE_DELAY_MS), `receiver` (the
 * real receiver, wired as containers/receiver/main.ts wires it, publishing to the emulator at
 * BENCH_EMULATOR_URL, its records in dynalite at BENCH_DYNAMODB_URL, logging as it does in
 * production, to /dev/null), `receiver-unrecorded` (the same without the orders table), `receiver-baseline` (the
 * receiver of the tree in BENCH_BASELINE_DIR, scripts/bench/baseline.ts, wired as its main.ts
 * wired it), or a
 * receiver peer doing the same work per order with one SNS Publish each (scripts/bench/peers/):
 * `koa-peer`, `fastify-peer`, `http-peer`; or the same peers taking each order through the
 * receiver's own intake (its batched publishes and accepted records) instead: `koa-intake`,
 * `fastify-intake`, `http-intake`. Every target listens on loopback. Prints {"url": ...}
 * once it listens; SIGTERM stops it. scripts/bench/targets.ts runs this file as an esbuild bundle
 * under plain node, as the images run the receiver.
 */
type Stop = () => Promise<unknown>;

const devNull = () => pino.destination({ dest: '/dev/null', sync: true });

async function startBare(delayMs: number): Promise<{ url: string; stop: Stop }> {
  const answer = '{"status":"accepted","order_id":"001","message_id":"00000000-0000-0000-0000-000000000000"}';
  const server = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      const reply = () => {
        res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  });
  return listenOnLoopback(server);
}

/** The receiver as containers/receiver/main.ts wires it, on loopback, logging its JSON lines to /dev/null. */
async function startBenchReceiver(env: NodeJS.ProcessEnv, orders: (logger: Logger) => Promise<ReceiverOrders>): Promise<{ url: string; stop: Stop }> {
  const logger = createLogger({ component: 'receiver', level: 'info', destination: devNull() });
  const receiver = await startReceiver({
    port: 0,
    host: '127.0.0.1',
    shutdownTimeoutMs: 5000,
    logger,
    processingTimeMs: Number(env.PROCESSING_TIME_MS ?? 0),
    orders: await orders(logger),
  });
  return { url: receiver.url, stop: () => receiver.stop() };
}

async function start(mode: string | undefined, env: NodeJS.ProcessEnv): Promise<{ url: string; dynamodbUrl?: string; stop: Stop }> {
  if (mode === 'emulator') {
    // The AWS emulators the pipeline talks to, in one process whose CPU and calls are counted together.
    const { started: emulator } = await withCallCounter(() => startFauxqs({ port: 0, logger: false }));
    const dynamodb = await startDynamoEmulator();
    return { url: `http://127.0.0.1:${emulator.port}`, dynamodbUrl: dynamodb.url, stop: () => Promise.all([emulator.stop(), dynamodb.stop()]) };
  }
  const aws: AwsConfig = { region: 'us-east-1', endpoint: env.BENCH_EMULATOR_URL ?? '', dynamodbEndpoint: env.BENCH_DYNAMODB_URL };
  const stage = env.BENCH_STAGE ?? 'bench';
  const topicArn = async () => (await provisionMessaging({ sns: createSnsClient(aws), sqs: createSqsClient(aws), stage, mode: 'ecs' })).topicArn;
  if (mode === 'koa-peer') return startKoaPeer(perOrderPublisher(createSnsClient(aws), await topicArn()));
  if (mode === 'fastify-peer') return startFastifyPeer(perOrderPublisher(createSnsClient(aws), await topicArn()));
  if (mode === 'http-peer') return startNodeHttpPeer(perOrderPublisher(createSnsClient(aws), await topicArn()));
  if (mode === 'receiver-baseline') {
    // The baseline's own modules, bundled from its tree (scripts/bench/baseline.ts), wired as its main.ts wired them.
    const baseline = (await import(`${env.BENCH_BASELINE_DIR ?? ''}/${BASELINE_MODULE}`)) as BaselineReceiverModule;
    const receiver = await baseline.startReceiver({
      port: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs: 5000,
      logger: baseline.createLogger({ component: 'receiver', level: 'info', destination: devNull() }),
      processingTimeMs: Number(env.PROCESSING_TIME_MS ?? 0),
      publisher: new baseline.SnsOrderPublisher(baseline.createSnsClient(aws, { maxAttempts: 3, requestTimeoutMs: 2_000 }), await topicArn()),
    });
    return { url: receiver.url, stop: () => receiver.stop() };
  }
  if (mode === 'bare') return startBare(Number(env.BARE_DELAY_MS ?? 0));
  if (mode === 'receiver') {
    return startBenchReceiver(env, async (logger) =>
      createOrderIntake({ aws, topicArn: await topicArn(), ordersTableName: await createOrdersTable(createDynamoDbClient(aws), stage), logger }),
    );
  }
  if (mode === 'koa-intake' || mode === 'fastify-intake' || mode === 'http-intake') {
    // The receiver's own intake (batched publishes and its accepted records, as main.ts wires it)
    // in place of the peer's per-order Publish: what the receiver would cost in that framework.
    const intake = createOrderIntake({ aws, topicArn: await topicArn(), ordersTableName: await createOrdersTable(createDynamoDbClient(aws), stage) });
    const accept = async (order: Order) => (await intake.accept(order, { requestId: randomUUID(), acceptedAt: Date.now() })).messageId;
    return mode === 'koa-intake' ? startKoaPeer(accept) : mode === 'fastify-intake' ? startFastifyPeer(accept) : startNodeHttpPeer(accept);
  }
  if (mode === 'receiver-unrecorded') {
    // The same receiver and publisher without the orders table: each order published and answered,
    // nothing remembered or written. What the records cost, measured beside the receiver as built.
    return startBenchReceiver(env, async (logger) => {
      const publisher = createReceiverPublisher({ aws, topicArn: await topicArn(), logger });
      return {
        accept: async (order, meta) => ({ messageId: await publisher.publish(order, meta), acceptedAt: meta.acceptedAt, repeated: false }),
        status: () => Promise.resolve(undefined),
        flush: () => Promise.resolve(publisher.flush()),
      };
    });
  }
  throw new Error(`unknown target "${mode ?? ''}": emulator, bare, receiver, receiver-unrecorded, receiver-baseline, koa-peer, fastify-peer, http-peer, koa-intake, fastify-intake or http-intake`);
}

const target = await start(process.argv[2], process.env);
process.stdout.write(`${JSON.stringify({ url: target.url, ...(target.dynamodbUrl ? { dynamodbUrl: target.dynamodbUrl } : {}) })}\n`);
process.once('SIGTERM', () => {
  void target.stop().finally(() => process.exit(0));
});
