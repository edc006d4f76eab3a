import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import { PublishError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { decodeSqsMessage } from '../../lib/order-message.ts';
import type { Order } from '../../lib/order-schema.ts';
import {
  PUBLISH_BATCH_MAX_BYTES,
  PublishBatchEntryError,
  SnsOrderPublisher,
  type SnsOrderPublisherOptions,
} from '../../containers/receiver/order-publisher.ts';
import { startReceiver, type ReceiverServer } from '../../containers/receiver/server.ts';
import { LogCollector } from '../../local/log-collector.ts';
import { killGroup, spawnEntryPoint, type Child } from '../support/child-process.ts';
import { eventually } from '../support/eventually.ts';
import { makeOrder, request, type HttpResult } from '../support/orders.ts';
import { startHangingServer } from '../support/raw-http.ts';
import { holdCalls, oversizeEntries, recordPublishBatches } from '../support/sns-middleware.ts';
import { intakeWith, stackTable } from '../support/orders-table.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

/**
 * The receiver's batching publisher against the emulator (fauxqs) through the real SDK: how
 * concurrent orders form PublishBatch calls, what each caller gets back, failures of one entry
 * and of a whole call, deadlines, and the shutdown drain. SDK middleware on the client only
 * watches the calls, holds them back (SNS slow to answer) or makes the emulator refuse one entry.
 */

const ACCEPTED_AT = 1_750_000_000_000;

/** An order of about `kib` KiB: valid in shape, beyond the receiver's schema limits (the publisher does not validate). */
function bigOrder(id: string, kib: number): Order {
  return { order_id: id, customer_id: 7, items: [{ product_id: 'P'.repeat(kib * 1024), quantity: 1, price: 1 }] };
}

function publishAll(publisher: SnsOrderPublisher, orders: Order[], signal?: AbortSignal): Promise<string>[] {
  return orders.map((order, index) => publisher.publish(order, { requestId: `req-${order.order_id}`, acceptedAt: ACCEPTED_AT + index, signal }));
}

async function rejectionOf(promise: Promise<unknown>): Promise<PublishError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, 'rejected').to.be.instanceOf(PublishError);
  return error as PublishError;
}

describe('the batching order publisher: PublishBatch through the SDK to the emulator', function () {
  this.timeout(30_000);
  let stack: TestStack;
  let sqs: SQSClient;
  /** A second subscription of the topic without raw delivery: the SNS envelope carries each MessageId. */
  let envelopeQueueUrl: string;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  before(async () => {
    stack = await startTestStack({ skipProcessor: true, stage: 'batching' });
    sqs = createSqsClient(stack.aws);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ordersync-batching-envelopes' }));
    envelopeQueueUrl = QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: envelopeQueueUrl, AttributeNames: ['QueueArn'] }));
    await createSnsClient(stack.aws).send(
      new SubscribeCommand({
        TopicArn: stack.resources.topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes!.QueueArn!,
        Attributes: { RawMessageDelivery: 'false' },
      }),
    );
  });
  after(() => stack?.stop());

  beforeEach(async () => {
    for (const queueUrl of [stack.resources.ordersQueueUrl, envelopeQueueUrl]) await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A receiver as main.ts wires it, on the stack's table, publishing through `publisher`. */
  const receiverWith = (publisher: SnsOrderPublisher, shutdownTimeoutMs: number, logs = new LogCollector()): Promise<ReceiverServer> =>
    startReceiver({
      port: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs,
      logger: createLogger({ component: 'receiver', destination: logs }),
      processingTimeMs: 0,
      orders: intakeWith(stackTable(stack), publisher),
    });

  /** A publisher on a client of its own, its PublishBatch calls recorded. */
  function publisherFor(options: SnsOrderPublisherOptions = {}, { topicArn, endpoint }: { topicArn?: string; endpoint?: string } = {}) {
    const sns = createSnsClient(endpoint ? { ...stack.aws, endpoint } : stack.aws, { maxAttempts: 1 });
    const calls = recordPublishBatches(sns);
    const publisher = new SnsOrderPublisher(sns, topicArn ?? stack.resources.topicArn, options);
    return { sns, calls, publisher };
  }

  /** Exactly `count` messages from the queue (deleted as read): fails on fewer within 10 s, or on more. */
  async function takeMessages(queueUrl: string, count: number): Promise<Message[]> {
    const messages: Message[] = [];
    const receive = async (waitSeconds: number) => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, MessageAttributeNames: ['All'] }),
      );
      if (Messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
      messages.push(...Messages);
    };
    await eventually(`${count} messages on the queue`, async () => {
      await receive(0);
      return messages.length >= count;
    });
    await receive(0);
    expect(messages, 'no more than expected').to.have.length(count);
    return messages;
  }

  /** Order id → SNS MessageId, from the envelopes. */
  async function envelopeIds(count: number): Promise<Map<string, string>> {
    const envelopes = (await takeMessages(envelopeQueueUrl, count)).map((m) => JSON.parse(m.Body!) as { MessageId: string; Message: string });
    return new Map(envelopes.map((envelope) => [(JSON.parse(envelope.Message) as Order).order_id, envelope.MessageId]));
  }

  describe('forming batches', () => {
    it('sends a lone order at once, in a call of its own, without waiting for the linger', async () => {
      const { calls, publisher } = publisherFor({ lingerMs: 60_000 });
      const started = performance.now();
      const [first] = publishAll(publisher, [makeOrder('lone-1')]);
      expect(calls.map((call) => call.orderIds), 'sent before publish() returned').to.deep.equal([['lone-1']]);
      await first;
      const [second] = publishAll(publisher, [makeOrder('lone-2')]);
      expect(calls).to.have.length(2);
      await second;
      expect(performance.now() - started, 'nowhere near the 60 s linger').to.be.below(5_000);
      expect(publisher.pending).to.deep.equal({ queued: 0, callsInFlight: 0 });
    });

    it('concurrent orders share calls of at most 10; each caller gets its own MessageId; the attributes reach both queues intact', async () => {
      const { calls, publisher } = publisherFor();
      const orders = Array.from({ length: 25 }, (_, index) => makeOrder(`share-${index}`));
      const ids = await Promise.all(publishAll(publisher, orders));

      // The first goes alone at once; the others queue behind it and go as whole batches, the
      // last four when the first call returns (or the linger ends).
      expect(calls.map((call) => call.entries)).to.deep.equal([1, 10, 10, 4]);
      expect(new Set(ids).size).to.equal(25);

      // Each caller's id is the id SNS gave its own message: the envelope says which.
      const byOrder = await envelopeIds(25);
      expect(orders.map((order) => byOrder.get(order.order_id))).to.deep.equal(ids);

      // Raw delivery, as the ECS processor reads it: body and attributes as published.
      const raw = await takeMessages(stack.resources.ordersQueueUrl, 25);
      const decoded = new Map(raw.map((message) => [(JSON.parse(message.Body!) as Order).order_id, { message, decoded: decodeSqsMessage(message) }]));
      for (const [index, order] of orders.entries()) {
        const got = decoded.get(order.order_id)!;
        expect(got.decoded).to.deep.equal({ payload: order, requestId: `req-${order.order_id}`, acceptedAt: ACCEPTED_AT + index });
        expect(got.message.MessageAttributes).to.deep.include({
          request_id: { DataType: 'String', StringValue: `req-${order.order_id}` },
          accepted_at: { DataType: 'Number', StringValue: String(ACCEPTED_AT + index) },
        });
      }
    });

    it('splits by size too: no call carries more than 256 KiB of messages and attributes', async () => {
      const { calls, publisher } = publisherFor({ lingerMs: 60_000 });
      const orders = [makeOrder('size-opener'), ...Array.from({ length: 5 }, (_, index) => bigOrder(`size-${index}`, 100))];
      const ids = await Promise.all(publishAll(publisher, orders));
      expect(new Set(ids).size).to.equal(6);
      expect(calls.map((call) => call.entries)).to.deep.equal([1, 2, 2, 1]);
      for (const call of calls) expect(call.bytes).to.be.at.most(PUBLISH_BATCH_MAX_BYTES);
      const raw = await takeMessages(stack.resources.ordersQueueUrl, 6);
      expect(raw.map((message) => message.Body!.length).sort((a, b) => a - b)).to.deep.equal(
        orders.map((order) => JSON.stringify(order).length).sort((a, b) => a - b),
      );
    });

    it('keeps within maxCallsInFlight: whole batches wait for a call to return, then go', async () => {
      const { sns, calls, publisher } = publisherFor({ maxCallsInFlight: 1, lingerMs: 1 });
      const gate = holdCalls(sns);
      cleanups.push(() => gate.open());
      const orders = Array.from({ length: 16 }, (_, index) => makeOrder(`cap-${index}`));
      const results = publishAll(publisher, orders);
      await sleep(50); // many lingers
      expect(calls.map((call) => call.entries), 'only the first call, though a whole batch waits').to.deep.equal([1]);
      expect(publisher.pending).to.deep.equal({ queued: 15, callsInFlight: 1 });
      gate.open();
      expect(new Set(await Promise.all(results)).size).to.equal(16);
      expect(calls.map((call) => call.entries)).to.deep.equal([1, 10, 5]);
    });

    it('sends an order too large for SNS in a call of its own: SNS refuses it, and only its caller fails', async () => {
      const { calls, publisher } = publisherFor({ lingerMs: 60_000 });
      const orders = [makeOrder('alone-opener'), bigOrder('alone-huge', 300), makeOrder('alone-1'), makeOrder('alone-2'), makeOrder('alone-3')];
      const results = publishAll(publisher, orders);
      const refused = await rejectionOf(results[1]!);
      expect(refused.orderId).to.equal('alone-huge');
      expect(refused.cause).to.be.instanceOf(PublishBatchEntryError).and.include({ code: 'InvalidParameter', senderFault: true });
      const ids = await Promise.all([results[0]!, ...results.slice(2)]);
      expect(new Set(ids).size).to.equal(4);
      expect(calls.map((call) => call.orderIds)).to.deep.equal([['alone-opener'], ['alone-huge'], ['alone-1', 'alone-2', 'alone-3']]);
      await takeMessages(stack.resources.ordersQueueUrl, 4);
    });
  });

  describe('failures', () => {
    it('a failed entry rejects only its caller: its neighbours in the same call get their ids and reach the queue', async () => {
      const { sns, calls, publisher } = publisherFor({ lingerMs: 60_000 });
      oversizeEntries(sns, (orderId) => orderId === 'entry-doomed');
      const orders = [makeOrder('entry-opener'), ...Array.from({ length: 10 }, (_, index) => makeOrder(index === 4 ? 'entry-doomed' : `entry-${index}`))];
      const results = await Promise.allSettled(publishAll(publisher, orders));
      expect(calls.map((call) => call.entries)).to.deep.equal([1, 10]);
      expect(calls[1]!.orderIds).to.include('entry-doomed');

      const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [{ index, reason: result.reason as unknown }] : []));
      expect(failed.map(({ index }) => orders[index]!.order_id)).to.deep.equal(['entry-doomed']);
      const { reason } = failed[0]!;
      expect(reason).to.be.instanceOf(PublishError).and.include({ orderId: 'entry-doomed' });
      const cause = (reason as PublishError).cause as PublishBatchEntryError;
      expect(cause).to.be.instanceOf(PublishBatchEntryError).and.include({ code: 'InvalidParameter' });
      expect(cause.message).to.contain('Message too long');

      const taken = await takeMessages(stack.resources.ordersQueueUrl, 10);
      expect(taken.map((message) => (JSON.parse(message.Body!) as Order).order_id)).to.not.include('entry-doomed');
    });

    it('an entry SNS answers neither way rejects only its caller (fauxqs drops an entry without a message)', async () => {
      const { sns, publisher } = publisherFor({ lingerMs: 60_000 });
      oversizeEntries(sns, (orderId) => orderId === 'silent-lost', '');
      const orders = [makeOrder('silent-opener'), makeOrder('silent-1'), makeOrder('silent-lost'), makeOrder('silent-2')];
      const results = publishAll(publisher, orders);
      const lost = await rejectionOf(results[2]!);
      expect((lost.cause as Error).message).to.contain('without a result for the entry');
      expect(new Set(await Promise.all([results[0]!, results[1]!, results[3]!])).size).to.equal(3);
      await takeMessages(stack.resources.ordersQueueUrl, 3);
    });

    it('at the receiver, the failed entry is answered 503 publish_failed and its neighbours 202', async () => {
      const { sns, publisher } = publisherFor();
      oversizeEntries(sns, (orderId) => orderId === 'http-doomed');
      const logs = new LogCollector();
      const receiver = await receiverWith(publisher, 2000, logs);
      cleanups.push(() => receiver.stop());
      const orders = Array.from({ length: 12 }, (_, index) => makeOrder(index === 5 ? 'http-doomed' : `http-${index}`));
      const answers = await Promise.all(orders.map((order) => request(receiver.url, 'POST', '/orders/async', { body: order })));
      const statuses = new Map(orders.map((order, index) => [order.order_id, answers[index]!.status]));
      expect(statuses.get('http-doomed')).to.equal(503);
      expect([...statuses].filter(([id]) => id !== 'http-doomed').every(([, status]) => status === 202)).to.equal(true);
      expect((answers[5]!.body as { error: { code: string } }).error.code).to.equal('publish_failed');
      const [failedLine] = logs.events('order.publish_failed');
      expect(failedLine).to.include({ order_id: 'http-doomed' });
      expect(failedLine?.cause).to.deep.include({ code: 'InvalidParameter' });
      expect(logs.events('order.accepted')).to.have.length(11);
      await takeMessages(stack.resources.ordersQueueUrl, 11);
    });

    it('a failed call rejects every caller in it (the topic does not exist)', async () => {
      const { calls, publisher } = publisherFor({ lingerMs: 60_000 }, { topicArn: `${stack.resources.topicArn}-missing` });
      const orders = Array.from({ length: 11 }, (_, index) => makeOrder(`call-${index}`));
      const errors = await Promise.all(publishAll(publisher, orders).map(rejectionOf));
      expect(calls.map((call) => call.entries)).to.deep.equal([1, 10]);
      expect(errors.map((error) => error.orderId)).to.deep.equal(orders.map((order) => order.order_id));
      for (const error of errors) expect(error.cause).to.be.instanceOf(Error).and.not.be.instanceOf(PublishBatchEntryError);
    });

    it('at the receiver, every order of a call that cannot reach SNS is answered 503; once SNS is back, 202 again', async () => {
      const proxy = await startTcpProxy(Number(new URL(stack.emulatorUrl).port));
      cleanups.push(() => proxy.close());
      const { publisher } = publisherFor({}, { endpoint: proxy.url });
      const receiver = await receiverWith(publisher, 2000);
      cleanups.push(() => receiver.stop());
      proxy.set('cut');
      const post = (id: string) => request(receiver.url, 'POST', '/orders/async', { body: makeOrder(id) });
      const cut = await Promise.all(Array.from({ length: 12 }, (_, index) => post(`cut-${index}`)));
      expect(cut.map((answer) => answer.status)).to.deep.equal(cut.map(() => 503));
      proxy.set('forward');
      const back = await Promise.all(Array.from({ length: 12 }, (_, index) => post(`back-${index}`)));
      expect(back.map((answer) => answer.status)).to.deep.equal(back.map(() => 202));
      const taken = await takeMessages(stack.resources.ordersQueueUrl, 12);
      expect(taken.every((message) => (JSON.parse(message.Body!) as Order).order_id.startsWith('back-'))).to.equal(true);
    });
  });

  describe('deadlines and the drain', () => {
    it('an order whose deadline or drain signal fires while it is queued leaves the queue unsent and fails at once', async () => {
      const { sns, calls, publisher } = publisherFor({ lingerMs: 60_000, timeoutMs: 800 });
      const gate = holdCalls(sns);
      cleanups.push(() => gate.open());
      const drain = new AbortController();
      // Its own deadline passes too while its call is held.
      const openerFailed = rejectionOf(publishAll(publisher, [makeOrder('queued-opener')])[0]!);
      const [timedOut] = publishAll(publisher, [makeOrder('queued-late')]);
      const [drained] = publishAll(publisher, [makeOrder('queued-drained')], drain.signal);
      expect(publisher.pending).to.deep.equal({ queued: 2, callsInFlight: 1 });

      drain.abort(new Error('drain deadline'));
      const drainError = await rejectionOf(drained!);
      expect((drainError.cause as Error).message).to.contain('drain deadline');
      expect(publisher.pending.queued).to.equal(1);

      const started = performance.now();
      const timeoutError = await rejectionOf(timedOut!);
      expect((timeoutError.cause as Error).message).to.contain('PUBLISH_TIMEOUT_MS');
      expect(performance.now() - started, 'at its deadline, not when the call returns').to.be.below(2_000);
      expect(publisher.pending.queued).to.equal(0);
      await openerFailed;

      gate.open();
      await eventually('the held call to end', () => publisher.pending.callsInFlight === 0);
      expect(calls.map((call) => call.orderIds), 'the two never sent').to.deep.equal([['queued-opener']]);
      // Nobody waited for the held call any more: it was aborted before it left.
      await sleep(200);
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.resources.ordersQueueUrl, WaitTimeSeconds: 0 }));
      expect(Messages).to.be.empty;
    });

    it('a call goes on while one of its callers still has time: the earlier caller fails at its deadline, the later one gets its id', async () => {
      const { sns, calls, publisher } = publisherFor({ lingerMs: 60_000, timeoutMs: 1_500 });
      const gate = holdCalls(sns);
      cleanups.push(() => gate.open());
      publishAll(publisher, [makeOrder('edge-opener')])[0]!.catch(() => undefined);
      const started = performance.now();
      const [early] = publishAll(publisher, [makeOrder('edge-early')]);
      await sleep(700);
      const [late] = publishAll(publisher, [makeOrder('edge-late')]);
      publisher.flush(); // both in one call, held at the gate
      expect(calls.map((call) => call.orderIds)).to.deep.equal([['edge-opener'], ['edge-early', 'edge-late']]);

      const earlyError = await rejectionOf(early!);
      expect((earlyError.cause as Error).message).to.contain('PUBLISH_TIMEOUT_MS');
      expect(performance.now() - started).to.be.below(1_800);
      await sleep(Math.max(0, 1_800 - (performance.now() - started)));
      gate.open();
      const id = await late!;
      expect(id).to.be.a('string').and.not.empty;
      expect((await envelopeIds(2)).get('edge-late'), 'the late caller has its own message id').to.equal(id);
    });

    it("the receiver's drain sends what is queued at once, and each later order as it comes; every order is answered 202", async () => {
      const { sns, calls, publisher } = publisherFor({ lingerMs: 60_000 });
      const gate = holdCalls(sns);
      cleanups.push(() => gate.open());
      const receiver = await receiverWith(publisher, 10_000);
      cleanups.push(() => receiver.stop());
      const post = (id: string) => request(receiver.url, 'POST', '/orders/async', { body: makeOrder(id) });
      const answers: Promise<HttpResult>[] = [post('drain-opener')];
      await eventually('the first call to be held', () => gate.waiting() === 1);
      answers.push(post('drain-a'), post('drain-b'), post('drain-c'));
      await eventually('three orders queued behind it', () => publisher.pending.queued === 3);

      const stopped = receiver.stop();
      expect(calls.map((call) => call.entries), 'the queue sent at once, not after the 60 s linger').to.deep.equal([1, 3]);
      expect(publisher.pending.queued).to.equal(0);
      const later = publishAll(publisher, [makeOrder('drain-later')])[0]!;
      expect(calls.map((call) => call.entries), 'sent as it came, though calls are in flight').to.deep.equal([1, 3, 1]);

      gate.open();
      const statuses = (await Promise.all(answers)).map((answer) => answer.status);
      expect(statuses).to.deep.equal([202, 202, 202, 202]);
      await later;
      await stopped;
      await takeMessages(stack.resources.ordersQueueUrl, 5);
    });

    it('at the drain deadline, orders whose calls SNS has not answered are answered 503: none is left queued or unanswered', async () => {
      const { sns, publisher } = publisherFor({ lingerMs: 60_000 });
      const gate = holdCalls(sns);
      cleanups.push(() => gate.open());
      const logs = new LogCollector();
      const receiver = await receiverWith(publisher, 1_500, logs);
      const post = (id: string) => request(receiver.url, 'POST', '/orders/async', { body: makeOrder(id) });
      const answers: Promise<HttpResult>[] = [post('cut-opener')];
      await eventually('the first call to be held', () => gate.waiting() === 1);
      answers.push(post('cut-a'), post('cut-b'));
      await eventually('two orders queued behind it', () => publisher.pending.queued === 2);

      const started = performance.now();
      await receiver.stop();
      expect(performance.now() - started).to.be.below(1_500 + 200);
      const results = await Promise.all(answers);
      expect(results.map((answer) => answer.status)).to.deep.equal([503, 503, 503]);
      expect(logs.events('order.publish_failed')).to.have.length(3);
      expect(logs.events('receiver.forced_close')).to.be.empty;
      expect(publisher.pending.queued).to.equal(0);

      gate.open();
      await eventually('the held calls to end', () => publisher.pending.callsInFlight === 0);
      await sleep(200);
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.resources.ordersQueueUrl, WaitTimeSeconds: 0 }));
      expect(Messages, 'calls nobody waited for were aborted before they left').to.be.empty;
    });
  });

  describe('the receiver process (containers/receiver/main.ts)', () => {
    let child: Child | undefined;
    afterEach(() => {
      if (child) killGroup(child);
      child = undefined;
    });

    it('answers 202 with each order’s own message id, the orders reach the queue in calls of at most 10, and SIGTERM exits 0', async () => {
      child = spawnEntryPoint('containers/receiver/main.ts', {
        AWS_ENDPOINT_URL: stack.emulatorUrl,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: stack.aws.dynamodbEndpoint ?? '',
        ORDERS_TOPIC_ARN: stack.resources.topicArn,
        ORDERS_TABLE_NAME: stack.ordersTableName,
        PORT: '0',
        LOG_LEVEL: 'debug',
      });
      const receiver = child;
      await receiver.logs.waitFor('the receiver to listen', () => receiver.logs.events('receiver.listening').length === 1, 15_000);
      const url = `http://127.0.0.1:${Number(receiver.logs.events('receiver.listening')[0]?.port)}`;
      const orders = Array.from({ length: 30 }, (_, index) => makeOrder(`process-${index}`));
      const answers = await Promise.all(orders.map((order) => request(url, 'POST', '/orders/async', { body: order })));
      expect(answers.map((answer) => answer.status)).to.deep.equal(orders.map(() => 202));
      const ids = answers.map((answer) => (answer.body as { message_id: string }).message_id);
      const byOrder = await envelopeIds(30);
      expect(orders.map((order) => byOrder.get(order.order_id))).to.deep.equal(ids);
      await takeMessages(stack.resources.ordersQueueUrl, 30);

      const batches = receiver.logs.events('sns.publish_batch').map((line) => Number(line.entries));
      expect(batches.reduce((sum, entries) => sum + entries, 0)).to.equal(30);
      expect(Math.max(...batches)).to.be.at.most(10);

      receiver.process.kill('SIGTERM');
      expect((await receiver.exited).code, receiver.stderr()).to.equal(0);
    });
  });
});

describe('the SNS client’s connection pool (maxSockets)', function () {
  this.timeout(20_000);

  it('opens at most maxSockets connections however many calls wait', async () => {
    const sns = await startHangingServer();
    try {
      const client = createSnsClient({ region: 'us-east-1', endpoint: sns.url }, { maxSockets: 3, maxAttempts: 1, requestTimeoutMs: 60_000 });
      const controller = new AbortController();
      const calls = Array.from({ length: 12 }, () =>
        client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Message: 'x' }), { abortSignal: controller.signal }).catch(() => undefined),
      );
      await eventually('three connections', () => sns.connections() === 3);
      await sleep(300);
      expect(sns.connections()).to.equal(3);
      controller.abort();
      await Promise.all(calls);
      client.destroy();
    } finally {
      await sns.close();
    }
  });
});
