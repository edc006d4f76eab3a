import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SNSEvent } from 'aws-lambda';
import { expect } from 'chai';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import type { OrderRecords, ProcessingPath } from '../../lib/order-records.ts';
import type { Order } from '../../lib/order-schema.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { processedCounts, type LogCollector } from '../../local/log-collector.ts';
import { eventually } from '../support/eventually.ts';
import { makeOrder } from '../support/orders.ts';
import { recordsAt, watchStatuses } from '../support/path-records.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Issue 12 on the processors' side: every order takes effect once per path, whatever the
 * deliveries. The real local stack in `both` mode (fauxqs, dynalite, the ECS processor in this
 * process, the Lambda's bundle in its execution environments); each order's effect is its one
 * `order.processed` line per path, and its record in the orders table is read through
 * `OrderRecords.status`, as the status resource reads it.
 */

const PATHS: ProcessingPath[] = ['ecs', 'lambda'];
const DAY_MS = 86_400_000;

function countOf(logs: LogCollector, event: string, path: ProcessingPath, orderId: string): number {
  return logs.events(event, (line) => line.path === path && line.order_id === orderId).length;
}

/** One order as SNS delivers it to each path: the raw message on the orders queue, the envelope to the Lambda. */
function deliveriesOf(order: Order, requestId: string) {
  const acceptedAt = Date.now();
  const snsMessageId = randomUUID();
  return {
    ecs: (stack: TestStack) =>
      createSqsClient(stack.aws).send(
        new SendMessageCommand({ QueueUrl: stack.resources.ordersQueueUrl, MessageBody: JSON.stringify(order), MessageAttributes: orderMessageAttributes(requestId, acceptedAt) }),
      ),
    lambda: (stack: TestStack) =>
      createSqsClient(stack.aws).send(
        new SendMessageCommand({
          QueueUrl: stack.resources.lambdaInvokerQueueUrl,
          MessageBody: JSON.stringify({
            Type: 'Notification',
            MessageId: snsMessageId,
            TopicArn: stack.resources.topicArn,
            Message: JSON.stringify(order),
            Timestamp: new Date(acceptedAt).toISOString(),
            SignatureVersion: '1',
            Signature: 'local',
            SigningCertURL: 'https://sns.us-east-1.amazonaws.com/local.pem',
            UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
            MessageAttributes: {
              [messagingSettings.messageAttributes.requestId]: { Type: 'String', Value: requestId },
              [messagingSettings.messageAttributes.acceptedAt]: { Type: 'Number', Value: String(acceptedAt) },
            },
          }),
        }),
      ),
  };
}

async function publish(stack: TestStack, order: Order, requestId: string): Promise<void> {
  await createSnsClient(stack.aws).send(
    new PublishCommand({ TopicArn: stack.resources.topicArn, Message: JSON.stringify(order), MessageAttributes: orderMessageAttributes(requestId, Date.now()) }),
  );
}

describe('one effect per order and path (ECS processor and Lambda, against fauxqs and dynalite)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let records: OrderRecords;

  before(async () => {
    stack = await startTestStack({
      mode: 'both',
      processingTimeMs: 300,
      concurrency: 10,
      // Short enough that a delivery the ECS processor found held comes back within a second or two.
      leaseMarginMs: 500,
      lambdaRetryDelaysMs: [50, 50],
    });
    records = recordsAt(stack);
  });
  after(() => stack?.stop());

  it('the same message delivered twice at once and once more later: one order.processed per path, the other deliveries order.duplicate', async () => {
    const order = makeOrder('twice-1');
    const deliveries = deliveriesOf(order, 'req-twice');
    const watch = PATHS.map((path) => watchStatuses(records, path, [order.order_id]));
    // Two copies at once: one claims, the other finds it held (ECS: back after the lease; Lambda: waits).
    await Promise.all(PATHS.flatMap((path) => [deliveries[path](stack), deliveries[path](stack)]));
    await stack.logs.waitFor('both copies on both paths', () => PATHS.every((path) => countOf(stack.logs, 'order.duplicate', path, order.order_id) === 1), 20_000);
    // A third copy once the order is processed: acknowledged at once.
    await Promise.all(PATHS.map((path) => deliveries[path](stack)));
    await stack.logs.waitFor('the third copy on both paths', () => PATHS.every((path) => countOf(stack.logs, 'order.duplicate', path, order.order_id) === 2), 20_000);
    await sleep(500); // nothing more to come
    await Promise.all(watch.map((watcher) => watcher.stop()));

    for (const path of PATHS) {
      expect(countOf(stack.logs, 'order.processed', path, order.order_id), `order.processed on ${path}`).to.equal(1);
      expect(countOf(stack.logs, 'order.duplicate', path, order.order_id), `order.duplicate on ${path}`).to.equal(2);
      const record = (await records.status(order.order_id))?.paths[path];
      expect(record, path).to.include({ status: 'processed', attempts: 1 });
      for (const duplicate of stack.logs.events('order.duplicate', (line) => line.path === path && line.order_id === order.order_id)) {
        expect(duplicate, path).to.include({ request_id: 'req-twice', first_request_id: 'req-twice', processed_at: new Date(Number(record?.processed_at)).toISOString() });
      }
    }
    // The ECS copy that found the order held was given back until the lease's end, not failed.
    expect(stack.logs.events('order.held', (line) => line.path === 'ecs' && line.order_id === order.order_id)).to.have.length(1);
    expect(stack.logs.events('order.failed', (line) => line.order_id === order.order_id)).to.be.empty;
    expect(watch[0]?.seen(order.order_id)).to.deep.equal(['absent', 'processing', 'processed']);
    expect(watch[1]?.seen(order.order_id)).to.deep.equal(['absent', 'processing', 'processed']);
    const sqs = createSqsClient(stack.aws);
    await eventually('both queues empty', async () => {
      const depths = await Promise.all([stack.resources.ordersQueueUrl, stack.resources.lambdaInvokerQueueUrl].map((url) => readQueueDepth(sqs, url)));
      return depths.every((depth) => depth.visible + depth.inFlight + depth.delayed === 0);
    });
  });

  it('an order published once is processing, then processed with its result and timings, on each path', async () => {
    const order = makeOrder('status-1', 2);
    const watch = PATHS.map((path) => watchStatuses(records, path, [order.order_id]));
    await publish(stack, order, 'req-status');
    await stack.logs.waitFor('the order on both paths', () => PATHS.every((path) => processedCounts(stack.logs, path).get(order.order_id) === 1), 20_000);
    await Promise.all(watch.map((watcher) => watcher.stop()));
    const status = await records.status(order.order_id);
    for (const [index, path] of PATHS.entries()) {
      expect(watch[index]?.seen(order.order_id), path).to.deep.equal(['absent', 'processing', 'processed']);
      const record = status?.paths[path];
      const line = stack.logs.events('order.processed', (entry) => entry.path === path && entry.order_id === order.order_id)[0];
      expect(record, path).to.include({ status: 'processed', attempts: 1, processing_ms: line?.processing_ms });
      expect(record?.result, path).to.include({ order_id: order.order_id, path, request_id: 'req-status', total: line?.total, processed_at: line?.processed_at });
      expect(Number(record?.processed_at) - Number(record?.claimed_at), `${path}: claim to completion`).to.be.within(290, 3000);
      expect(record?.lease_until, path).to.equal(undefined);
    }
  });

  it('a crashed worker\'s claim (its lease left behind) is taken over once the lease has run out, on each path', async () => {
    const order = makeOrder('crashed-1');
    // Workers that claimed the order and died: nothing will complete or fail these claims.
    const crashed = await Promise.all(PATHS.map((path) => records.claim(order.order_id, path, { leaseMs: 1500 })));
    const leaseUntil = Math.max(...crashed.map((claim) => (claim.outcome === 'claimed' ? claim.leaseUntil : 0)));
    await publish(stack, order, 'req-crashed');
    await stack.logs.waitFor('the order on both paths', () => PATHS.every((path) => processedCounts(stack.logs, path).get(order.order_id) === 1), 20_000);
    const status = await records.status(order.order_id);
    for (const path of PATHS) {
      const record = status?.paths[path];
      expect(record, path).to.include({ status: 'processed', attempts: 2 });
      // Claimed again only after the crashed lease: not one order.processed before it.
      expect(Number(record?.claimed_at), `${path} claimed after the lease`).to.be.at.least(leaseUntil);
    }
    // The ECS delivery came while the lease was live: given back until its end (no failure, no DLQ).
    expect(stack.logs.events('order.held', (line) => line.path === 'ecs' && line.order_id === order.order_id)).to.have.length(1);
    expect(stack.logs.events('order.failed', (line) => line.order_id === order.order_id)).to.be.empty;
    // The Lambda's waited for it within its invocation: one invocation, no retry.
    expect(stack.logs.events('lambda.invocation_failed')).to.be.empty;
  });

  it('an expired record counts as absent: past its retention the order is processed as a new one', async () => {
    const order = makeOrder('expired-1');
    // Processed on both paths 31 days ago, with a 30-day retention: TTL has not deleted it (dynalite never does).
    const past = recordsAt(stack, { now: () => Date.now() - 31 * DAY_MS });
    for (const path of PATHS) {
      const claim = await past.claim(order.order_id, path, { leaseMs: 1000 });
      if (claim.outcome !== 'claimed') throw new Error('the old claim must succeed');
      await past.complete(order.order_id, path, claim.token, { result: { order_id: order.order_id }, processingMs: 1 });
    }
    expect(await records.status(order.order_id), 'an expired record is not shown').to.equal(undefined);

    await publish(stack, order, 'req-expired');
    await stack.logs.waitFor('the order on both paths', () => PATHS.every((path) => processedCounts(stack.logs, path).get(order.order_id) === 1), 20_000);
    const status = await records.status(order.order_id);
    for (const path of PATHS) {
      expect(status?.paths[path], path).to.include({ status: 'processed', attempts: 1 });
      expect(status?.paths[path]?.result, path).to.include({ request_id: 'req-expired' });
      expect(countOf(stack.logs, 'order.duplicate', path, order.order_id), path).to.equal(0);
    }
  });
});

describe('a poison order still reaches the DLQ and the on-failure destination, its records dead_lettered', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({
      mode: 'both',
      // A second between the ECS deliveries, doubling (1, 2, 4, 8 s): each failed attempt shows in the record.
      retryDelaySeconds: 1,
      lambdaRetryDelaysMs: [300, 300],
    });
  });
  after(() => stack?.stop());

  it('fails every allowed delivery on both paths, ends in the DLQ and the failure queue, and its record shows each step', async () => {
    const poison = { order_id: 'poison-2', customer_id: 1, items: [] };
    const records = recordsAt(stack);
    const watch = PATHS.map((path) => watchStatuses(records, path, [poison.order_id], 20));
    await createSnsClient(stack.aws).send(
      new PublishCommand({ TopicArn: stack.resources.topicArn, Message: JSON.stringify(poison), MessageAttributes: orderMessageAttributes('req-poison', Date.now()) }),
    );
    const { maxReceiveCount } = messagingSettings.ordersDeadLetterQueue;
    const lambdaAttempts = messagingSettings.lambda.maximumRetryAttempts + 1;
    await stack.logs.waitFor('the order dead-lettered on both paths', () => PATHS.every((path) => stack.logs.events('order.dead_lettered', (line) => line.path === path).length === 1), 40_000);
    const sqs = createSqsClient(stack.aws);
    await eventually('the DLQ to hold it', async () => (await readQueueDepth(sqs, stack.resources.ordersDeadLetterQueueUrl)).visible === 1, 10_000);
    await eventually('the ECS record dead-lettered', async () => (await records.status(poison.order_id))?.paths.ecs?.status === 'dead_lettered');
    await sleep(200);
    await Promise.all(watch.map((watcher) => watcher.stop()));

    const status = await records.status(poison.order_id);
    expect(status?.paths.ecs).to.include({ status: 'dead_lettered', attempts: maxReceiveCount });
    expect(status?.paths.lambda).to.include({ status: 'dead_lettered', attempts: lambdaAttempts });
    for (const path of PATHS) {
      const record = status?.paths[path];
      expect(record?.last_error?.code, path).to.equal('invalid_order');
      expect(record?.dead_lettered_at, path).to.be.a('number');
      expect(record?.lease_until, path).to.equal(undefined);
      // Failed attempts in between, then dead-lettered; never processed.
      const seen = watch[PATHS.indexOf(path)]?.seen(poison.order_id) ?? [];
      expect(seen, `${path}: ${seen.join(' → ')}`).to.include('failed');
      expect(seen.indexOf('failed'), path).to.be.below(seen.indexOf('dead_lettered'));
      expect(seen.at(-1), path).to.equal('dead_lettered');
      expect(seen, path).not.to.include('processed');
    }
    expect(stack.logs.events('order.failed', (line) => line.path === 'ecs')).to.have.length(maxReceiveCount);
    expect(stack.logs.events('order.failed', (line) => line.path === 'lambda')).to.have.length(lambdaAttempts);
    expect(stack.logs.events('order.failed', (line) => line.final === true).map((line) => line.path).sort()).to.deep.equal(['ecs', 'lambda']);

    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.resources.lambdaFailureQueueUrl, WaitTimeSeconds: 1 }));
    expect(Messages).to.have.length(1);
    const failure = JSON.parse(Messages[0]?.Body ?? '{}') as { requestContext: { condition: string }; requestPayload: SNSEvent };
    expect(failure.requestContext.condition).to.equal('RetriesExhausted');
    expect(JSON.parse(failure.requestPayload.Records[0]?.Sns.Message ?? '{}')).to.deep.equal(poison);
  });
});
