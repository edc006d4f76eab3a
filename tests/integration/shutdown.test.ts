import { expect } from 'chai';
import { createSqsClient } from '../../lib/aws-clients.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import { spawnEntryPoint, killGroup, type Child } from '../support/child-process.ts';
import { eventually } from '../support/eventually.ts';
import { LogCollector, processedCounts } from '../../local/log-collector.ts';
import { makeOrder, request, SEED_ORDER } from '../support/orders.ts';
import { processorFor, publishOrders } from '../support/processor.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

/** SIGTERM, as ECS sends it before a deploy replaces a task. */
describe('graceful shutdown on SIGTERM (real processes)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let child: Child | undefined;

  beforeEach(async () => {
    stack = await startTestStack({ skipProcessor: true });
  });
  afterEach(async () => {
    if (child) killGroup(child);
    child = undefined;
    await stack.stop();
  });

  function startProcessor(env: Record<string, string>): Child {
    child = spawnEntryPoint('containers/processor/main.ts', {
      AWS_ENDPOINT_URL: stack.emulatorUrl,
      AWS_REGION: 'us-east-1',
      ORDERS_QUEUE_URL: stack.resources.ordersQueueUrl,
      ORDERS_TABLE_NAME: stack.ordersTableName,
      AWS_ENDPOINT_URL_DYNAMODB: stack.aws.dynamodbEndpoint ?? '',
      PROCESSOR_WAIT_TIME_SECONDS: '1',
      ...env,
    });
    return child;
  }

  async function untilAllInFlight(count: number): Promise<void> {
    const sqs = createSqsClient(stack.aws);
    await eventually(`${count} orders in flight`, async () => (await readQueueDepth(sqs, stack.resources.ordersQueueUrl)).inFlight === count, 15_000);
  }

  it('the processor finishes the orders in hand, deletes them and exits 0', async () => {
    const orders = Array.from({ length: 10 }, (_, index) => makeOrder(`term-${index}`));
    await publishOrders(stack, orders);
    const processor = startProcessor({ PROCESSING_TIME_MS: '1500', PROCESSOR_CONCURRENCY: '10', SHUTDOWN_TIMEOUT_MS: '10000' });
    await untilAllInFlight(10);
    processor.process.kill('SIGTERM');
    const { code } = await processor.exited;

    expect(code, processor.stderr()).to.equal(0);
    expect(processedCounts(processor.logs, 'ecs').size).to.equal(10);
    expect([...processedCounts(processor.logs, 'ecs').values()].every((count) => count === 1)).to.equal(true);
    expect(processor.logs.events('consumer.stopped')[0]).to.include({ succeeded: 10, released: 0 });
    expect(await readQueueDepth(createSqsClient(stack.aws), stack.resources.ordersQueueUrl)).to.deep.equal({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('past its deadline the processor gives unfinished orders back at once, and another worker processes each once', async () => {
    const orders = Array.from({ length: 10 }, (_, index) => makeOrder(`late-${index}`));
    await publishOrders(stack, orders);
    const processor = startProcessor({ PROCESSING_TIME_MS: '60000', PROCESSOR_CONCURRENCY: '10', SHUTDOWN_TIMEOUT_MS: '300' });
    await untilAllInFlight(10);
    const signalled = performance.now();
    processor.process.kill('SIGTERM');
    const { code } = await processor.exited;
    expect(code, processor.stderr()).to.equal(0);
    expect(performance.now() - signalled).to.be.below(10_000);
    expect(processor.logs.events('order.processed')).to.be.empty;
    expect(processor.logs.events('order.released')).to.have.length(10);

    // Visible again at once, not after the 30 s visibility timeout.
    const sqs = createSqsClient(stack.aws);
    expect(await readQueueDepth(sqs, stack.resources.ordersQueueUrl)).to.include({ visible: 10, inFlight: 0 });

    const logs = new LogCollector();
    const successor = processorFor(stack, logs, { concurrency: 10 });
    successor.start();
    try {
      await logs.waitFor('the successor to process all ten', () => processedCounts(logs, 'ecs').size === 10);
      expect([...processedCounts(logs, 'ecs').values()].every((count) => count === 1)).to.equal(true);
      expect(logs.events('order.processed').every((line) => line.attempt === 2)).to.equal(true);
    } finally {
      await successor.stop();
    }
  });

  it('the receiver stops accepting, answers the request in flight, and exits 0', async () => {
    const receiver = spawnEntryPoint('containers/receiver/main.ts', {
      AWS_ENDPOINT_URL: stack.emulatorUrl,
      AWS_ENDPOINT_URL_DYNAMODB: stack.aws.dynamodbEndpoint ?? '',
      ORDERS_TOPIC_ARN: stack.resources.topicArn,
      ORDERS_TABLE_NAME: stack.ordersTableName,
      PORT: '0',
      PROCESSING_TIME_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '30000',
    });
    child = receiver;
    await receiver.logs.waitFor('the receiver to listen', () => receiver.logs.events('receiver.listening').length === 1);
    const port = Number(receiver.logs.events('receiver.listening')[0]?.port);
    const url = `http://127.0.0.1:${port}`;

    const inFlight = request(url, 'POST', '/orders/sync', { body: SEED_ORDER });
    await receiver.logs.waitFor('the sync order to be accepted', () => receiver.logs.events('order.accepted').length === 1);
    const signalled = performance.now();
    receiver.process.kill('SIGTERM');
    const answer = await inFlight;
    expect(answer.status).to.equal(200);
    expect((await receiver.exited).code, receiver.stderr()).to.equal(0);
    // It exits when the last request is answered, not when the 30 s shutdown timeout runs out.
    expect(performance.now() - signalled).to.be.below(15_000);
    let refused = false;
    await request(url, 'GET', '/health').catch(() => (refused = true));
    expect(refused, 'no longer listening').to.equal(true);
  });

  it('a component with bad configuration exits 78 with a plain message and no stack trace', async () => {
    const processor = startProcessor({ ORDERS_QUEUE_URL: '', PROCESSOR_CONCURRENCY: 'many' });
    const { code } = await processor.exited;
    expect(code).to.equal(78);
    expect(processor.stderr()).to.equal(
      'invalid processor configuration:\n  - ORDERS_QUEUE_URL is required (an SQS queue URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)\n' +
        '  - PROCESSOR_CONCURRENCY must be an integer from 1 to 1000 (got "many")\n',
    );
  });
});
