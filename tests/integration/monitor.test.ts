import { expect } from 'chai';
import { startStatsServer } from '../../local/stats-server.ts';
import { spawnChild, freePort } from '../support/child-process.ts';
import { makeOrder } from '../support/orders.ts';
import { processorFor, publishOrders } from '../support/processor.ts';
import { startTestStack } from '../support/stack.ts';
import type { LambdaStats } from '../../local/lambda-invoker.ts';
import { LogCollector } from '../../local/log-collector.ts';

describe('npm run monitor against the local stack', function () {
  this.timeout(60_000);

  it('reads the queues and the stack counters', async () => {
    const stack = await startTestStack({ stage: 'local', skipProcessor: true });
    const logs = new LogCollector();
    const processor = processorFor(stack, logs, { concurrency: 1, processingTimeMs: 60_000, shutdownTimeoutMs: 0 });
    const stats = await startStatsServer(0, () => ({ started_at: '', processor: processor.stats, lambda: null }));
    try {
      await publishOrders(stack, Array.from({ length: 4 }, (_, index) => makeOrder(`mon-${index}`)));
      processor.start();
      await logs.waitFor('the processor to take one order', () => processor.stats.inFlight === 1);
      const monitor = spawnChild('npm', ['run', 'monitor', '--', '--once'], {
        EMULATOR_PORT: new URL(stack.emulatorUrl).port,
        STATS_PORT: new URL(stats.url).port,
      });
      const { code } = await monitor.exited;
      expect(code, monitor.stderr()).to.equal(0);
      expect(monitor.stdout()).to.match(/orders\s+3\s+1\s+0/);
      expect(monitor.stdout()).to.match(/orders DLQ\s+0\s+0\s+0/);
      expect(monitor.stdout()).to.match(/ECS processor\s+–\s+–\s+1\s+0\s+0/);

      const json = spawnChild('npm', ['run', '--silent', 'monitor', '--', '--once', '--json'], {
        EMULATOR_PORT: new URL(stack.emulatorUrl).port,
        STATS_PORT: new URL(stats.url).port,
      });
      expect((await json.exited).code, json.stderr()).to.equal(0);
      const reading = JSON.parse(json.stdout().trim()) as { queues: { name: string; depth: { visible: number; inFlight: number } }[]; processing: { ecs: { inFlight: number } } };
      expect(reading.queues.find((queue) => queue.name === 'orders')?.depth).to.include({ visible: 3, inFlight: 1 });
      expect(reading.processing.ecs.inFlight).to.equal(1);
    } finally {
      await processor.stop();
      await stats.stop();
      await stack.stop();
    }
  });

  it("shows the Lambda's environments, cold starts, throttles and the throttled events waiting, on screen and in --json", async () => {
    // A limit of 1 and 3 s of work: one order runs at a time, the others are throttled and wait
    // for their next try (a throttle is refused at once, so between tries they are all waiting).
    // The stack's stop lets the three run to the end: about 9 s.
    const stack = await startTestStack({
      stage: 'local',
      mode: 'lambda',
      processingTimeMs: 3000,
      lambdaConcurrency: 1,
      lambdaThrottleBackoff: { initialMs: 200, maxMs: 400 },
      shutdownTimeoutMs: 0,
    });
    const invoker = stack.invoker;
    if (!invoker) throw new Error('the lambda stack has no invoker');
    const stats = await startStatsServer(0, () => ({ started_at: '', processor: null, lambda: invoker.stats }));
    try {
      await publishOrders(stack, Array.from({ length: 3 }, (_, index) => makeOrder(`mon-lambda-${index}`)));
      await stack.logs.waitFor('one invocation under way and two throttled events', () => invoker.stats.busy === 1 && invoker.stats.throttles >= 2);
      const env = { EMULATOR_PORT: new URL(stack.emulatorUrl).port, STATS_PORT: new URL(stats.url).port };
      const monitor = spawnChild('npm', ['run', 'monitor', '--', '--once'], env);
      expect((await monitor.exited).code, monitor.stderr()).to.equal(0);
      expect(monitor.stdout()).to.match(/environments\s+1 \/ 1 at limit\s+1 reserved\s+1\s+1\s+\d+\s+([12])\s+\1$/m);

      const json = spawnChild('npm', ['run', '--silent', 'monitor', '--', '--once', '--json'], env);
      expect((await json.exited).code, json.stderr()).to.equal(0);
      const reading = JSON.parse(json.stdout().trim()) as {
        queues: { name: string; depth: { visible: number; inFlight: number } }[];
        processing: { lambda: LambdaStats; lambdaBacklog: number };
      };
      expect(reading.processing.lambda).to.include({ busy: 1, environments: 1, concurrencyLimit: 1, coldStarts: 1 });
      expect(reading.processing.lambda.throttles).to.be.at.least(2);
      // The asynchronous queue's backlog: nothing left in the event queue (the invoker holds the
      // three), the throttled events waiting: two, or one once the first order is done.
      expect(reading.queues.find((queue) => queue.name === 'Lambda events')?.depth?.visible).to.equal(0);
      expect(reading.processing.lambda.waiting).to.be.oneOf([1, 2]);
      expect(reading.processing.lambdaBacklog).to.equal(reading.processing.lambda.waiting);
    } finally {
      await stats.stop();
      await stack.stop();
    }
  });

  it('says so when no local stack is running, and --once exits 1', async () => {
    const monitor = spawnChild('npm', ['run', 'monitor', '--', '--once'], {
      EMULATOR_PORT: String(await freePort()),
      STATS_PORT: String(await freePort()),
    });
    const { code } = await monitor.exited;
    expect(code).to.equal(1);
    expect(monitor.stdout()).to.contain('is npm start running?');
  });

  it('refuses a bad flag with a plain message', async () => {
    const monitor = spawnChild('npm', ['run', 'monitor', '--', '--interval', 'often'], {});
    const { code } = await monitor.exited;
    expect(code).to.equal(2);
    expect(monitor.stderr()).to.contain('--interval must be a number of seconds from 0.2 to 60 (got "often")');
  });
});
