import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSqsClient } from '../../lib/aws-clients.ts';
import { readQueueDepth } from '../../lib/queue-attributes.ts';
import type { QueueConsumer } from '../../lib/queue-consumer.ts';
import { LogCollector, processedCounts } from '../../local/log-collector.ts';
import { killGroup, spawnEntryPoint, type Child } from '../support/child-process.ts';
import { makeOrder } from '../support/orders.ts';
import { processorFor, publishOrders } from '../support/processor.ts';
import { startProxiedStack, throughProxy, untilInFlight, type ProxiedStack } from '../support/proxied-stack.ts';

/**
 * The processor with the broker cut or hung: a TCP proxy on loopback sits between the processor
 * and the emulator, while the test itself talks to the emulator directly (publishing, reading
 * queue depths), as the receiver and an operator would during the outage.
 */
describe('ECS processor under broker faults (TCP proxy in front of the emulator)', function () {
  this.timeout(60_000);
  let proxied: ProxiedStack | undefined;
  let logs: LogCollector;
  let processor: QueueConsumer | undefined;
  let child: Child | undefined;

  async function start(visibilityTimeoutSeconds?: number): Promise<ProxiedStack> {
    proxied = await startProxiedStack(visibilityTimeoutSeconds);
    return proxied;
  }

  beforeEach(() => {
    logs = new LogCollector();
  });
  afterEach(async () => {
    if (child) killGroup(child);
    child = undefined;
    await processor?.stop();
    processor = undefined;
    await proxied?.stop();
    proxied = undefined;
  });

  it('resumes within 3 s of the broker coming back after a 7 s cut (per-poller backoff, woken by the first success)', async () => {
    const { stack, proxy } = await start();
    // PROCESSOR_CONCURRENCY 100, the default: ten pollers.
    processor = processorFor(throughProxy(stack, proxy), logs, { concurrency: 100, processingTimeMs: 50 });
    processor.start();
    await publishOrders(stack, [makeOrder('before-cut')]);
    await logs.waitFor('the order before the cut', () => processedCounts(logs, 'ecs').get('before-cut') === 1);

    // Every backoff takes (nearly) its full length, so the outcome does not depend on the jitter's
    // luck: with one failure counter shared by the ten pollers, a few seconds of cut leave them all
    // asleep for 6-20 s; backing off per poller, each is asleep at most 2 s.
    const random = Math.random;
    Math.random = () => 0.9 + random() / 10;
    let resumedAfterMs: number;
    try {
      proxy.set('cut');
      await sleep(1000);
      // Accepted while the processor cannot reach the queue: waiting when the broker comes back.
      await publishOrders(stack, [makeOrder('during-cut')]);
      await sleep(6000);
      expect(logs.events('queue.receive_failed').length, 'receives failed during the cut').to.be.at.least(10);
      proxy.set('forward');
      const restored = performance.now();
      await logs.waitFor('the order queued during the cut', () => processedCounts(logs, 'ecs').get('during-cut') === 1, 30_000);
      resumedAfterMs = Math.round(performance.now() - restored);
    } finally {
      Math.random = random;
    }

    // The backoff of each poller is at most 2 s, and the first poller to succeed wakes the others;
    // 3 s leaves a second for the receive and the 50 ms of processing on a loaded machine.
    expect(resumedAfterMs, `first order processed ${resumedAfterMs} ms after the broker came back`).to.be.below(3000);
    expect(logs.events('queue.receive_recovered')).to.have.length.at.least(1);
  });

  it('deletes the orders finished during a 3 s cut once the broker is back: none processed twice', async () => {
    // Visibility 6 s, processing 1.5 s: the orders finish during the cut with 4.5 s of valid handle
    // left, so each failed delete can be retried after the cut, before the message comes back.
    const { stack, proxy } = await start(6);
    const orders = Array.from({ length: 10 }, (_, index) => makeOrder(`cut-${index}`));
    await publishOrders(stack, orders);
    processor = processorFor(throughProxy(stack, proxy), logs, { concurrency: 10, processingTimeMs: 1500 });
    processor.start();
    await untilInFlight(stack, 10);
    const received = performance.now();
    proxy.set('cut');
    await logs.waitFor('the ten orders to finish during the cut', () => processedCounts(logs, 'ecs').size === 10, 5000);
    await sleep(Math.max(0, received + 3000 - performance.now()));
    proxy.set('forward');

    // Past the visibility timeout, and more: an undeleted message would be back and processed again.
    await sleep(Math.max(0, received + 6000 + 3000 - performance.now()));
    const sqs = createSqsClient(stack.aws);
    expect(await readQueueDepth(sqs, stack.resources.ordersQueueUrl)).to.deep.equal({ visible: 0, inFlight: 0, delayed: 0 });
    expect(Object.fromEntries(processedCounts(logs, 'ecs'))).to.deep.equal(Object.fromEntries(orders.map((order) => [order.order_id, 1])));
    expect(logs.events('queue.delete_failed')).to.be.empty;
  });

  describe('SIGTERM while the broker hangs (accepts connections, never answers)', () => {
    const shutdownTimeoutMs = 3000;
    // Exit within the deadline plus what a process needs to exit (logs flushed, tsx torn down).
    const exitMarginMs = 1000;

    async function sigtermDuringHang(processingTimeMs: number): Promise<{ child: Child; elapsedMs: number; code: number | null }> {
      const { stack, proxy } = await start();
      const orders = Array.from({ length: 10 }, (_, index) => makeOrder(`hang-${index}`));
      await publishOrders(stack, orders);
      const spawned = spawnEntryPoint('containers/processor/main.ts', {
        AWS_ENDPOINT_URL: proxy.url,
        AWS_REGION: 'us-east-1',
        ORDERS_QUEUE_URL: stack.resources.ordersQueueUrl,
        // The orders table directly: only the broker hangs.
        ORDERS_TABLE_NAME: stack.ordersTableName,
        AWS_ENDPOINT_URL_DYNAMODB: stack.aws.dynamodbEndpoint ?? '',
        PROCESSOR_WAIT_TIME_SECONDS: '1',
        PROCESSOR_CONCURRENCY: '10',
        PROCESSING_TIME_MS: String(processingTimeMs),
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      });
      child = spawned;
      await untilInFlight(stack, 10);
      proxy.set('hang');
      const signalled = performance.now();
      spawned.process.kill('SIGTERM');
      const outcome = await Promise.race([spawned.exited, sleep(20_000).then(() => undefined)]);
      const elapsedMs = performance.now() - signalled;
      return { child: spawned, elapsedMs, code: outcome ? outcome.code : null };
    }

    it('orders still in hand: gives them back as far as it can and exits 0 inside its deadline', async () => {
      const { child: spawned, elapsedMs, code } = await sigtermDuringHang(60_000);
      expect(elapsedMs, `exited ${Math.round(elapsedMs)} ms after SIGTERM`).to.be.below(shutdownTimeoutMs + exitMarginMs);
      expect(code, spawned.stderr()).to.equal(0);
      expect(spawned.logs.events('order.released')).to.have.length(10);
      expect(spawned.logs.events('queue.release_failed')).to.not.be.empty;
      expect(spawned.logs.events('consumer.stopped')[0]).to.include({ released: 10 });
    });

    it('orders finished during the drain: the last deletes give up at the deadline and it exits 0 inside it', async () => {
      const { child: spawned, elapsedMs, code } = await sigtermDuringHang(1000);
      expect(elapsedMs, `exited ${Math.round(elapsedMs)} ms after SIGTERM`).to.be.below(shutdownTimeoutMs + exitMarginMs);
      expect(code, spawned.stderr()).to.equal(0);
      expect(processedCounts(spawned.logs, 'ecs').size).to.equal(10);
      expect(spawned.logs.events('queue.delete_failed')).to.not.be.empty;
      expect(spawned.logs.events('consumer.stopped')[0]).to.include({ succeeded: 10, released: 0 });
    });
  });
});
