import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { createSqsClient } from '../../lib/aws-clients.ts';
import type { OrderRecords } from '../../lib/order-records.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import type { QueueConsumer } from '../../lib/queue-consumer.ts';
import { LogCollector, processedCounts } from '../../local/log-collector.ts';
import { killGroup, spawnEntryPoint, type Child } from '../support/child-process.ts';
import { eventually } from '../support/eventually.ts';
import { makeOrder } from '../support/orders.ts';
import { recordsAt } from '../support/path-records.ts';
import { processorFor, publishOrders } from '../support/processor.ts';
import { startProxiedStack, throughProxy, untilInFlight, type ProxiedStack } from '../support/proxied-stack.ts';
import type { TestStack } from '../support/stack.ts';
import type { TcpProxy } from '../support/tcp-proxy.ts';

/**
 * Deliveries SQS repeats because a processor died or lost the broker: each order still takes
 * effect once (one `order.processed` line in all), the repeats are logged as `order.duplicate`,
 * and a claim left by the dead processor is taken over after its lease. The processor reaches
 * SQS through a TCP proxy on loopback (cut or hung by the test) and the orders table directly.
 */
describe('one effect per order when the processor dies or loses the broker', function () {
  this.timeout(90_000);
  let proxied: ProxiedStack | undefined;
  let records: OrderRecords;
  const children: Child[] = [];
  let processor: QueueConsumer | undefined;

  async function start(visibilityTimeoutSeconds: number): Promise<ProxiedStack> {
    proxied = await startProxiedStack(visibilityTimeoutSeconds);
    records = recordsAt(proxied.stack);
    return proxied;
  }

  async function queueEmpty(stack: TestStack): Promise<void> {
    const sqs = createSqsClient(stack.aws);
    await eventually('the orders queue to empty', async () => {
      const depth = await readQueueDepth(sqs, stack.resources.ordersQueueUrl);
      return depth.visible + depth.inFlight + depth.delayed === 0;
    }, 20_000);
  }

  /** containers/processor/main.ts as ECS runs it: SQS through the proxy, the orders table directly. */
  function spawnProcessor(stack: TestStack, proxy: TcpProxy): Child {
    const child = spawnEntryPoint('containers/processor/main.ts', {
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ENDPOINT_URL_DYNAMODB: stack.aws.dynamodbEndpoint ?? '',
      AWS_REGION: 'us-east-1',
      ORDERS_QUEUE_URL: stack.resources.ordersQueueUrl,
      ORDERS_TABLE_NAME: stack.ordersTableName,
      PROCESSOR_WAIT_TIME_SECONDS: '1',
      PROCESSOR_CONCURRENCY: '10',
      PROCESSOR_RETRY_DELAY_SECONDS: '0',
      PROCESSING_TIME_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    });
    children.push(child);
    return child;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) killGroup(child);
    await processor?.stop();
    processor = undefined;
    await proxied?.stop();
    proxied = undefined;
  });

  it('SIGKILL of the processor process with orders done but not deleted and orders mid-flight, then a restart: each order processed once', async () => {
    // Visibility 2 s: what the killed process held comes back soon after it dies.
    const { stack, proxy } = await start(2);
    const first = spawnProcessor(stack, proxy);
    const done = Array.from({ length: 5 }, (_, index) => makeOrder(`killed-done-${index}`));
    const midFlight = Array.from({ length: 5 }, (_, index) => makeOrder(`killed-mid-${index}`));
    await publishOrders(stack, done);
    await untilInFlight(stack, 5);
    await sleep(1500);
    await publishOrders(stack, midFlight);
    await untilInFlight(stack, 10);
    // SQS stops answering: the first five finish (and are recorded) but cannot be deleted.
    proxy.set('hang');
    await first.logs.waitFor('the first five processed', () => processedCounts(first.logs, 'ecs').size === 5, 10_000);
    expect([...processedCounts(first.logs, 'ecs').keys()].sort()).to.deep.equal(done.map((order) => order.order_id).sort());
    process.kill(-(first.process.pid as number), 'SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    for (const order of midFlight) expect((await records.status(order.order_id))?.paths.ecs, 'left claimed by the dead process').to.include({ status: 'processing' });

    proxy.set('forward');
    const second = spawnProcessor(stack, proxy);
    const all = [...done, ...midFlight];
    await second.logs.waitFor(
      'the restarted processor to acknowledge the first five and process the other five',
      () => second.logs.events('order.duplicate').length === 5 && processedCounts(second.logs, 'ecs').size === 5,
      40_000,
    );
    await queueEmpty(stack);

    // One effect per order over both processes.
    const effects = new Map<string, number>();
    for (const logs of [first.logs, second.logs]) for (const [id, count] of processedCounts(logs, 'ecs')) effects.set(id, (effects.get(id) ?? 0) + count);
    expect(Object.fromEntries(effects)).to.deep.equal(Object.fromEntries(all.map((order) => [order.order_id, 1])));
    // The repeats of the orders the dead process had finished: acknowledged, not done again.
    expect(second.logs.events('order.duplicate').map((line) => line.order_id).sort()).to.deep.equal(done.map((order) => order.order_id).sort());
    // The orders it died on: taken over once its claims' leases (3 s of work + 5 s) had run out.
    expect(second.logs.events('order.held').map((line) => line.order_id).sort()).to.include.members(midFlight.map((order) => order.order_id));
    for (const order of midFlight) {
      const record = (await records.status(order.order_id))?.paths.ecs;
      expect(record, order.order_id).to.include({ status: 'processed', attempts: 2 });
      expect(Number(record?.first_claimed_at) + 3000 + 5000, `${order.order_id} taken over after the lease`).to.be.at.most(Number(record?.claimed_at));
      expect(Number(record?.claimed_at)).to.be.above(killedAt);
    }
    for (const order of done) expect((await records.status(order.order_id))?.paths.ecs).to.include({ status: 'processed', attempts: 1 });
    expect(second.logs.events('order.failed')).to.be.empty;
  });

  it('a broker cut longer than the visibility timeout: the orders finished during it come back and are acknowledged as duplicates', async () => {
    // Visibility 2 s, work 1 s, cut 5 s: the deletes give up and every message is delivered again.
    const { stack, proxy } = await start(2);
    const logs = new LogCollector();
    const orders = Array.from({ length: 10 }, (_, index) => makeOrder(`cut-long-${index}`));
    await publishOrders(stack, orders);
    processor = processorFor(throughProxy(stack, proxy), logs, { concurrency: 10, processingTimeMs: 1000 });
    processor.start();
    await untilInFlight(stack, 10);
    proxy.set('cut');
    await logs.waitFor('the ten orders to finish during the cut', () => processedCounts(logs, 'ecs').size === 10, 5000);
    await sleep(5000);
    proxy.set('forward');
    await logs.waitFor('every redelivery acknowledged', () => logs.events('order.duplicate').length >= 10, 30_000);
    await queueEmpty(stack);
    await sleep(500);

    expect(Object.fromEntries(processedCounts(logs, 'ecs'))).to.deep.equal(Object.fromEntries(orders.map((order) => [order.order_id, 1])));
    const duplicates = new Map<string, number>();
    for (const line of logs.events('order.duplicate')) duplicates.set(String(line.order_id), (duplicates.get(String(line.order_id)) ?? 0) + 1);
    expect([...duplicates.keys()].sort()).to.deep.equal(orders.map((order) => order.order_id).sort());
    expect(logs.events('queue.delete_failed'), 'the deletes did fail: the repeats were real').to.not.be.empty;
    for (const order of orders) expect((await records.status(order.order_id))?.paths.ecs).to.include({ status: 'processed', attempts: 1 });
  });
});
