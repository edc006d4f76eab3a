import { expect } from 'chai';
import { startEmulator } from '../../local/emulator.ts';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { provisionMessaging } from '../../local/provision.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { eventually } from '../support/eventually.ts';
import { LogCollector, processedCounts } from '../../local/log-collector.ts';
import { makeOrder } from '../support/orders.ts';
import { processorFor, publishOrders, sendRaw } from '../support/processor.ts';
import { startClaimsTable } from '../support/path-records.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';
import type { QueueConsumer } from '../../lib/queue-consumer.ts';

describe('ECS processor against the emulator', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let logs: LogCollector;
  let processor: QueueConsumer | undefined;

  beforeEach(async () => {
    logs = new LogCollector();
    stack = await startTestStack({ skipProcessor: true });
  });
  afterEach(async () => {
    await processor?.stop();
    processor = undefined;
    await stack.stop();
  });

  it('really runs PROCESSOR_CONCURRENCY orders at once: 50 orders at concurrency 50 take about one processing time', async () => {
    const processingTimeMs = 1000;
    const orders = Array.from({ length: 50 }, (_, index) => makeOrder(`c-${index}`));
    await publishOrders(stack, orders);
    expect((await readQueueDepth(createSqsClient(stack.aws), stack.resources.ordersQueueUrl)).visible).to.equal(50);

    processor = processorFor(stack, logs, { concurrency: 50, processingTimeMs });
    const started = performance.now();
    processor.start();
    await logs.waitFor('50 orders processed', () => processedCounts(logs, 'ecs').size === 50, 20_000);
    const elapsed = performance.now() - started;

    expect(processor.stats.peakInFlight).to.equal(50);
    // One after another they would take 50 s; at concurrency 50, about one processing time.
    // The bound is loose on purpose (a fifth of the serial time): this checks concurrency, not speed.
    expect(elapsed).to.be.below(processingTimeMs * 10);
  });

  it('never holds more than its concurrency', async () => {
    await publishOrders(stack, Array.from({ length: 30 }, (_, index) => makeOrder(`b-${index}`)));
    processor = processorFor(stack, logs, { concurrency: 7, processingTimeMs: 100 });
    processor.start();
    await logs.waitFor('30 orders processed', () => processedCounts(logs, 'ecs').size === 30);
    expect(processor.stats.peakInFlight).to.equal(7);
    expect([...processedCounts(logs, 'ecs').values()].every((count) => count === 1)).to.equal(true);
  });

  it('moves a message that always fails to the DLQ after the redrive count, and keeps processing the rest', async () => {
    const { maxReceiveCount } = messagingSettings.ordersDeadLetterQueue;
    await sendRaw(stack, stack.resources.ordersQueueUrl, ['this is not an order']);
    await publishOrders(stack, [makeOrder('good-1')]);
    processor = processorFor(stack, logs, { concurrency: 5 });
    processor.start();

    const sqs = createSqsClient(stack.aws);
    await logs.waitFor('the poison message in the DLQ', () => logs.events('order.dead_lettered').length === 1, 20_000);
    await eventually('the DLQ to hold the message', async () => (await readQueueDepth(sqs, stack.resources.ordersDeadLetterQueueUrl)).visible === 1);
    expect(logs.events('order.failed')).to.have.length(maxReceiveCount);
    expect(logs.events('order.failed').map((line) => line.attempt)).to.deep.equal(
      Array.from({ length: maxReceiveCount }, (_, index) => index + 1),
    );
    expect(logs.events('order.dead_lettered')[0]).to.include({ path: 'ecs', receive_count: maxReceiveCount });
    await logs.waitFor('the good order', () => processedCounts(logs, 'ecs').get('good-1') === 1);
    await eventually('the orders queue to empty', async () => {
      const depth = await readQueueDepth(sqs, stack.resources.ordersQueueUrl);
      return depth.visible + depth.inFlight + depth.delayed === 0;
    });
  });

  it('extends the visibility of an order that takes longer than the visibility timeout', async () => {
    await stack.stop();
    stack = await startTestStack({ skipProcessor: true, visibilityTimeoutSeconds: 1 });
    await publishOrders(stack, [makeOrder('slow-1')]);
    // A free slot and a 1 s poll: without the extension the message would come back after 1 s
    // and be taken again while the first delivery is still being worked on.
    processor = processorFor(stack, logs, { concurrency: 2, processingTimeMs: 2500 });
    processor.start();
    await logs.waitFor('the slow order', () => processedCounts(logs, 'ecs').size === 1, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(Object.fromEntries(processedCounts(logs, 'ecs'))).to.deep.equal({ 'slow-1': 1 });
    expect(logs.events('order.processed')[0]).to.include({ attempt: 1 });
    expect(processor.stats.peakInFlight).to.equal(1);
  });
});

describe('ECS processor when SQS is unreachable', function () {
  this.timeout(30_000);

  it('backs off, then recovers and processes once the queue is back', async () => {
    // Reserve a port, start the processor against it with nothing listening, then start the emulator there.
    const probe = await startEmulator(0);
    const port = probe.port;
    await probe.stop();
    // The orders table is there all along: only the queue is missing.
    const table = await startClaimsTable('retry');
    const aws = { region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, dynamodbEndpoint: table.aws.dynamodbEndpoint };
    const logs = new LogCollector();
    const queueUrl = `http://sqs.us-east-1.localhost:${port}/000000000000/ordersync-retry-orders`;
    const processor = processorFor({ aws, ordersTableName: table.ordersTableName, resources: { ordersQueueUrl: queueUrl } } as TestStack, logs, { concurrency: 5 });
    processor.start();
    let emulator: Awaited<ReturnType<typeof startEmulator>> | undefined;
    try {
      await logs.waitFor('receive failures', () => logs.events('queue.receive_failed').length >= 2);
      const failures = logs.events('queue.receive_failed');
      expect(Number(failures[1]?.retry_in_ms)).to.be.at.least(Number(failures[0]?.retry_in_ms) / 2);

      emulator = await startEmulator(port);
      const resources = await provisionMessaging({ sns: createSnsClient(aws), sqs: createSqsClient(aws), stage: 'retry', mode: 'ecs' });
      expect(resources.ordersQueueUrl).to.equal(queueUrl);
      await publishOrders({ aws, resources } as TestStack, [makeOrder('after-outage')]);
      await logs.waitFor('the order processed after the outage', () => processedCounts(logs, 'ecs').get('after-outage') === 1, 20_000);
      expect(logs.events('queue.receive_recovered')).to.have.length.at.least(1);
    } finally {
      await processor.stop();
      await emulator?.stop();
      await table.stop();
    }
  });
});
