import { expect } from 'chai';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLogger } from '../../lib/logger.ts';
import { ORDER_RETENTION_DAYS } from '../../lib/orders-table.ts';
import { createDynamoDbClient, createSnsClient } from '../../lib/aws-clients.ts';
import { SnsOrderPublisher } from '../../containers/receiver/order-publisher.ts';
import { startReceiver, type ReceiverServer } from '../../containers/receiver/server.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { eventually } from '../support/eventually.ts';
import { makeOrder, request, type HttpResult } from '../support/orders.ts';
import { intakeWith, stackTable } from '../support/orders-table.ts';
import { loseAnswers, recordPublishBatches, type RecordedCall } from '../support/sns-middleware.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The receiver with issue 12's intake, against the real emulators of a local stack (fauxqs,
 * dynalite) and its ECS processor: order_id is the idempotency key. Each test runs a receiver of
 * its own on the stack's topic and table, its SNS client watched (or faulted) by SDK middleware,
 * so the publishes can be counted; nothing is mocked.
 */
describe('the receiver: one order per order_id, and its status (issue 12)', function () {
  this.timeout(30_000);
  let stack: TestStack;
  let receivers: ReceiverServer[] = [];
  let logs: LogCollector;

  before(async () => {
    stack = await startTestStack({ stage: 'idempotency', processingTimeMs: 300 });
  });
  after(() => stack?.stop());
  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.stop();
  });

  interface Started {
    url: string;
    publishes: RecordedCall[];
    sns: ReturnType<typeof createSnsClient>;
    dynamodb: DynamoDBClient;
  }

  /**
   * A receiver as main.ts wires it, on the stack's topic and table, its SNS calls recorded; a
   * second call starts another receiver task (with its own memory), logging to the same lines.
   */
  async function start({ snsAttempts = 3, now }: { snsAttempts?: number; now?: () => number } = {}): Promise<Started> {
    if (receivers.length === 0) logs = new LogCollector();
    const logger = createLogger({ component: 'receiver', destination: logs });
    const sns = createSnsClient(stack.aws, { maxAttempts: snsAttempts, requestTimeoutMs: 2000 });
    const publishes = recordPublishBatches(sns);
    const dynamodb = createDynamoDbClient(stack.aws, { maxAttempts: 1, requestTimeoutMs: 2000 });
    const orders = intakeWith(stackTable(stack), new SnsOrderPublisher(sns, stack.resources.topicArn), { dynamodb, timeoutMs: 5000, logger, ...(now ? { now } : {}) });
    const receiver = await startReceiver({ port: 0, host: '127.0.0.1', shutdownTimeoutMs: 2000, logger, processingTimeMs: 0, orders });
    receivers.push(receiver);
    return { url: receiver.url, publishes, sns, dynamodb };
  }

  const published = (publishes: RecordedCall[], orderId: string) => publishes.flatMap((call) => call.orderIds).filter((id) => id === orderId).length;
  const body = (result: HttpResult) => result.body as Record<string, unknown>;
  const processedLines = (orderId: string) => stack.logs.events('order.processed', (line) => line.order_id === orderId);

  /** Two receiver tasks, and the order `orderId` accepted (202) by the first. */
  async function acceptedByOneOfTwoTasks(orderId: string) {
    const first = await start();
    const second = await start();
    const order = makeOrder(orderId);
    const accepted = await request(first.url, 'POST', '/orders/async', { body: order });
    expect(accepted.status).to.equal(202);
    return { first, second, order, accepted };
  }

  it('answers a repeated POST as the first time: the same message id and Location, and publishes nothing again', async () => {
    const { url, publishes } = await start();
    const order = makeOrder('repeat-1');
    const first = await request(url, 'POST', '/orders/async', { body: order });
    const again = await request(url, 'POST', '/orders/async', { body: { ...order, items: order.items.map((item) => ({ price: item.price, quantity: item.quantity, product_id: item.product_id })) } });
    expect([first.status, again.status]).to.deep.equal([202, 202]);
    expect(body(again).message_id).to.equal(body(first).message_id);
    expect(first.headers.get('location')).to.equal('/orders/repeat-1');
    expect(again.headers.get('location')).to.equal('/orders/repeat-1');
    expect(published(publishes, 'repeat-1')).to.equal(1);
    expect(logs.events('order.accepted')).to.have.length(1);
    expect(logs.events('order.repeated', (line) => line.order_id === 'repeat-1')).to.have.length(1);
  });

  it('publishes 20 concurrent POSTs of one order once, and answers each 202 with its message id', async () => {
    const { url, publishes } = await start();
    const order = makeOrder('concurrent-1');
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(url, 'POST', '/orders/async', { body: order })));
    expect(answers.map((answer) => answer.status)).to.deep.equal(answers.map(() => 202));
    expect(new Set(answers.map((answer) => body(answer).message_id)).size).to.equal(1);
    expect(published(publishes, 'concurrent-1')).to.equal(1);
  });

  it('refuses the same order_id with another body: 409 order_conflict, concurrently and afterwards, nothing published', async () => {
    const { url, publishes } = await start();
    const order = makeOrder('conflict-1');
    const other = { ...order, customer_id: order.customer_id + 1 };
    const [first, concurrent] = await Promise.all([request(url, 'POST', '/orders/async', { body: order }), request(url, 'POST', '/orders/async', { body: other })]);
    const later = await request(url, 'POST', '/orders/async', { body: other });
    expect(first.status).to.equal(202);
    for (const refused of [concurrent, later]) {
      expect(refused.status).to.equal(409);
      expect((body(refused).error as { code: string }).code).to.equal('order_conflict');
    }
    expect(published(publishes, 'conflict-1')).to.equal(1);
    expect(logs.events('order.conflict')).to.have.length(2);
  });

  it('finds an order right after its 202, and answers 404 order_not_found for an id never accepted', async () => {
    const { url } = await start();
    const accepted = await request(url, 'POST', '/orders/async', { body: makeOrder('status-1') });
    const status = await request(url, 'GET', accepted.headers.get('location') ?? '');
    expect(status.status).to.equal(200);
    // Accepted, or already claimed by the stack's processor: found either way, with its message id.
    expect(body(status)).to.include({ order_id: 'status-1', message_id: body(accepted).message_id });
    expect(body(status).status).to.be.oneOf(['accepted', 'processing', 'processed']);
    const missing = await request(url, 'GET', '/orders/never-sent');
    expect(missing.status).to.equal(404);
    expect(body(missing)).to.deep.equal({ error: { code: 'order_not_found', message: 'no order never-sent was accepted (or its records expired)' } });
  });

  it('shows the order processing, then processed on its path with attempts, timings and result', async () => {
    const { url } = await start();
    await request(url, 'POST', '/orders/async', { body: makeOrder('status-2') });
    const statusOf = async () => body(await request(url, 'GET', '/orders/status-2'));
    await eventually('the ecs path to claim the order', async () => (await statusOf()).status === 'processing');
    const processing = (await statusOf()).paths as Record<string, Record<string, unknown>>;
    expect(processing.ecs).to.include({ status: 'processing', attempts: 1 });
    expect(processing.ecs).to.have.property('lease_until');
    await eventually('the order to be processed', async () => (await statusOf()).status === 'processed');
    const done = (await statusOf()).paths as Record<string, Record<string, unknown>>;
    expect(done.ecs).to.include({ status: 'processed', attempts: 1 });
    expect(done.ecs?.processing_ms).to.be.a('number');
    expect(done.ecs?.result).to.include({ order_id: 'status-2', path: 'ecs' });
    expect(done.ecs).to.not.have.property('lease_until');
  });

  it('a client that retries a 503 whose publishes in fact reached the topic gets one effect', async () => {
    // Every SDK attempt of the first request reaches fauxqs and loses its answer: three copies
    // queued, and the client told 503. Its retry is published again (no record was written).
    const { url, sns, publishes } = await start({ snsAttempts: 3 });
    const loss = loseAnswers(sns, 3);
    const order = makeOrder('retried-503');
    const first = await request(url, 'POST', '/orders/async', { body: order });
    expect(first.status).to.equal(503);
    expect(loss.lost()).to.equal(3);
    const retry = await request(url, 'POST', '/orders/async', { body: order });
    expect(retry.status).to.equal(202);
    expect(published(publishes, 'retried-503')).to.equal(2);
    await eventually('every copy to be delivered', () => stack.logs.events('order.duplicate', (line) => line.order_id === 'retried-503').length === 3, 15_000);
    expect(processedLines('retried-503')).to.have.length(1);
  });

  it('a record write that fails is logged; the order is still answered 202, found, and processed once', async () => {
    const { url, dynamodb } = await start();
    let failed = 0;
    dynamodb.middlewareStack.add(
      (next) => async (args) => {
        if (failed === 0 && isWrite(args)) {
          failed += 1;
          throw Object.assign(new Error('the table is unavailable'), { name: 'InternalServerError', $fault: 'server', $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failFirstWrite' },
    );
    const accepted = await request(url, 'POST', '/orders/async', { body: makeOrder('record-failed') });
    expect(accepted.status).to.equal(202);
    await eventually('the failed write to be logged', () => logs.events('order.record_failed', (line) => line.order_id === 'record-failed').length === 1);
    // Found all the same: from the receiver's memory, then from the path's own record.
    expect(body(await request(url, 'GET', '/orders/record-failed'))).to.include({ order_id: 'record-failed', message_id: body(accepted).message_id });
    await eventually('the order to be processed', async () => body(await request(url, 'GET', '/orders/record-failed')).status === 'processed');
    // The processor records the outcome, then logs it: the line may follow the status by a moment.
    await eventually('its order.processed line', () => processedLines('record-failed').length > 0);
    expect(processedLines('record-failed')).to.have.length(1);
  });

  it('a repeat that reaches another receiver task is published again, and takes effect once', async () => {
    const { first, second, order, accepted } = await acceptedByOneOfTwoTasks('two-tasks');
    expect((await request(second.url, 'POST', '/orders/async', { body: order })).status).to.equal(202);
    expect(published(first.publishes, 'two-tasks') + published(second.publishes, 'two-tasks')).to.equal(2);
    await eventually('the second copy to be acknowledged as a duplicate', () => stack.logs.events('order.duplicate', (line) => line.order_id === 'two-tasks').length === 1, 15_000);
    expect(processedLines('two-tasks')).to.have.length(1);
    // Either task's status shows the first acceptance: the repeat's record does not replace it.
    for (const task of [first, second]) {
      const status = body(await request(task.url, 'GET', '/orders/two-tasks'));
      expect(status).to.include({ request_id: body(accepted).request_id, message_id: body(accepted).message_id });
      expect(status).to.not.have.property('conflicting_acceptances');
    }
  });

  it('another order under a used order_id, sent to another receiver task: 202 there, never processed, logged as order.conflict, and its status says so', async () => {
    const { first, second, order, accepted } = await acceptedByOneOfTwoTasks('conflict-elsewhere');
    await eventually('the first order to be processed', async () => body(await request(first.url, 'GET', '/orders/conflict-elsewhere')).status === 'processed', 15_000);
    // The second task does not know the first's acceptance (no table read on the request's path).
    const other = await request(second.url, 'POST', '/orders/async', { body: { ...order, customer_id: order.customer_id + 1 } });
    expect(other.status).to.equal(202);
    await eventually('the processor to refuse it', () => stack.logs.events('order.conflict', (line) => line.order_id === 'conflict-elsewhere').length === 1, 15_000);
    expect(stack.logs.events('order.conflict', (line) => line.order_id === 'conflict-elsewhere')[0]).to.include({ path: 'ecs', request_id: body(other).request_id });
    expect(processedLines('conflict-elsewhere')).to.have.length(1);
    const status = body(await request(second.url, 'GET', '/orders/conflict-elsewhere'));
    // The top of the status is the order that took effect, the refused one listed beside it.
    expect(status).to.include({ status: 'processed', request_id: body(accepted).request_id, message_id: body(accepted).message_id });
    expect(status.conflicting_acceptances).to.deep.equal([
      { request_id: body(other).request_id, message_id: body(other).message_id, accepted_at: (status.conflicting_acceptances as { accepted_at: string }[])[0]?.accepted_at },
    ]);
    const ecs = (status.paths as Record<string, Record<string, unknown>>).ecs;
    expect(ecs).to.include({ status: 'processed', conflicts: 1 });
    expect(ecs?.last_conflict).to.include({ request_id: body(other).request_id });
    expect(ecs?.result).to.include({ customer_id: order.customer_id });
  });

  it('another receiver task finds an order right after its 202, though its record is still being written', async () => {
    const { second, accepted } = await acceptedByOneOfTwoTasks('found-elsewhere');
    const status = await request(second.url, 'GET', '/orders/found-elsewhere');
    expect(status.status).to.equal(200);
    expect(body(status)).to.include({ order_id: 'found-elsewhere', message_id: body(accepted).message_id });
  });

  it('forgets an order past its retention: 404, and the same order_id is a new order', async () => {
    let now = Date.now();
    const { url, publishes } = await start({ now: () => now });
    await request(url, 'POST', '/orders/async', { body: makeOrder('expiring-1') });
    expect((await request(url, 'GET', '/orders/expiring-1')).status).to.equal(200);
    now += (ORDER_RETENTION_DAYS + 1) * 86_400_000;
    expect((await request(url, 'GET', '/orders/expiring-1')).status).to.equal(404);
    expect((await request(url, 'POST', '/orders/async', { body: { ...makeOrder('expiring-1'), customer_id: 7 } })).status).to.equal(202);
    expect(published(publishes, 'expiring-1')).to.equal(2);
  });
});

/** A BatchWriteItem call (the receiver's accepted-record writes), by its input. */
function isWrite(args: { input: unknown }): boolean {
  const items = (args.input as { RequestItems?: Record<string, unknown> }).RequestItems;
  return Object.values(items ?? {}).some((requests) => Array.isArray(requests) && requests.some((request) => typeof request === 'object' && request !== null && 'PutRequest' in request));
}
