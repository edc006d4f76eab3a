import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateQueueCommand, SendMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../lib/aws-clients.ts';
import { createLogger } from '../../lib/logger.ts';
import { MAX_VISIBILITY_SECONDS, QueueConsumer, RetryAfter, retryAfterSeconds, type MessageHandler } from '../../lib/queue-consumer.ts';
import { startEmulator, type Emulator } from '../../local/emulator.ts';
import { LogCollector } from '../../local/log-collector.ts';

/** What the consumer asked SQS, seen by a middleware on its own client: calls by command, and each receive. */
interface SqsCalls {
  calls: Record<string, number>;
  /** Completed receives: messages asked for and messages returned. */
  receives: { asked: number; got: number }[];
  /** The receipt handles of each ChangeMessageVisibilityBatch call, as sent. */
  visibilityBatches: string[][];
}

/** A client as the processor makes it (createProcessor), with a middleware counting its calls. */
function countingClient(emulator: Emulator, inject?: (command: string, input: Record<string, unknown>, output?: Record<string, unknown>) => void): { sqs: SQSClient; seen: SqsCalls } {
  const sqs = createSqsClient({ region: 'us-east-1', endpoint: emulator.url }, { requestTimeoutMs: 30_000, maxAttempts: 1 });
  const seen: SqsCalls = { calls: {}, receives: [], visibilityBatches: [] };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      const input = args.input as Record<string, unknown>;
      seen.calls[command] = (seen.calls[command] ?? 0) + 1;
      if (command === 'ChangeMessageVisibilityBatchCommand') {
        seen.visibilityBatches.push((input.Entries as { ReceiptHandle: string }[]).map((entry) => entry.ReceiptHandle));
      }
      inject?.(command, input);
      const result = await next(args);
      if (command === 'ReceiveMessageCommand') {
        seen.receives.push({ asked: Number(input.MaxNumberOfMessages), got: ((result.output as { Messages?: unknown[] }).Messages ?? []).length });
      }
      inject?.(command, input, result.output as unknown as Record<string, unknown>);
      return result;
    },
    { step: 'initialize', name: 'countSqsCalls' },
  );
  return { sqs, seen };
}

/**
 * The queue consumer (lib/queue-consumer.ts) against the emulator through the real SDK: how many
 * messages each receive brings, how many it holds at once, and how it keeps slow ones invisible.
 */
describe('queue consumer: full receives, concurrency and visibility batches (emulator)', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let admin: SQSClient;
  let logs: LogCollector;
  let consumer: QueueConsumer | undefined;
  let queues = 0;

  before(async () => {
    emulator = await startEmulator(0);
    admin = createSqsClient({ region: 'us-east-1', endpoint: emulator.url });
  });
  after(async () => {
    await emulator.stop();
  });
  beforeEach(() => {
    logs = new LogCollector();
  });
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
  });

  async function queueWith(count: number, visibilityTimeoutSeconds = 30): Promise<string> {
    queues += 1;
    const { QueueUrl } = await admin.send(
      new CreateQueueCommand({ QueueName: `consumer-${queues}`, Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) } }),
    );
    if (!QueueUrl) throw new Error('no queue');
    await send(QueueUrl, count, 'm');
    return QueueUrl;
  }

  async function send(queueUrl: string, count: number, prefix: string): Promise<void> {
    const batches: Promise<unknown>[] = [];
    for (let start = 0; start < count; start += 10) {
      const entries = Array.from({ length: Math.min(10, count - start) }, (_, index) => ({ Id: `e${index}`, MessageBody: `${prefix}-${start + index}` }));
      batches.push(admin.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
    }
    await Promise.all(batches);
  }

  function consumerOf(sqs: SQSClient, queueUrl: string, concurrency: number, handleMessage: MessageHandler): QueueConsumer {
    return new QueueConsumer({
      sqs,
      queueUrl,
      concurrency,
      handleMessage,
      waitTimeSeconds: 20,
      retryDelaySeconds: 0,
      shutdownTimeoutMs: 5000,
      logger: createLogger({ component: 'processor', destination: logs }),
    });
  }

  /** Runs `consumer` until `count` messages are handled; returns how often each body was handled. */
  async function drain(started: QueueConsumer, count: number, timeoutMs = 30_000): Promise<Map<string, number>> {
    const handled = new Map<string, number>();
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${done} of ${count} messages handled within ${timeoutMs} ms`)), timeoutMs);
      started.on('message_processed', (message: Message) => {
        handled.set(message.Body ?? '', (handled.get(message.Body ?? '') ?? 0) + 1);
        done += 1;
        if (done === count) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.start();
    });
    return handled;
  }

  const average = (receives: { got: number }[]) => receives.reduce((sum, receive) => sum + receive.got, 0) / receives.length;

  for (const concurrency of [1, 7, 25, 100]) {
    it(`never holds more than its concurrency, and fills it from a backlog (concurrency ${concurrency})`, async () => {
      const count = concurrency * 3 + 5;
      const { sqs } = countingClient(emulator);
      let running = 0;
      let peak = 0;
      consumer = consumerOf(sqs, await queueWith(count), concurrency, async () => {
        running += 1;
        peak = Math.max(peak, running);
        try {
          await sleep(100 + Math.random() * 50);
        } finally {
          running -= 1;
        }
      });
      const handled = await drain(consumer, count);
      expect(peak, 'handler calls at once').to.equal(concurrency);
      expect(consumer.stats.peakInFlight, 'messages held at once').to.equal(concurrency);
      expect(handled.size).to.equal(count);
      expect([...handled.values()].every((times) => times === 1)).to.equal(true);
    });
  }

  it('receives come back full at a 1,000 ms handler while the queue holds plenty (≥ 8 messages each on average)', async () => {
    // Four rounds at concurrency 100. Asking as soon as one slot frees gave about 2.7 messages per receive.
    const count = 400;
    const { sqs, seen } = countingClient(emulator);
    consumer = consumerOf(sqs, await queueWith(count), 100, () => sleep(1000));
    await drain(consumer, count);
    const withMessages = seen.receives.filter((receive) => receive.got > 0);
    expect(average(withMessages), JSON.stringify(seen.receives)).to.be.at.least(8);
    // Receives, deletes and the attribute lookup, per order (long polls still open count too).
    const calls = Object.values(seen.calls).reduce((sum, calls) => sum + calls, 0);
    expect(calls / count).to.be.at.most(0.3);
  });

  it('receives come back full with an instant handler too (≥ 9 messages each on average)', async () => {
    // Asking as soon as one slot frees gave about 6.8 messages per receive here.
    const count = 1000;
    const { sqs, seen } = countingClient(emulator);
    consumer = consumerOf(sqs, await queueWith(count), 100, async () => {
      await sleep(0);
    });
    await drain(consumer, count);
    const withMessages = seen.receives.filter((receive) => receive.got > 0);
    expect(average(withMessages), JSON.stringify(seen.receives)).to.be.at.least(9);
  });

  it('does not keep freed slots idle: a lone message on an otherwise empty queue is taken at once', async () => {
    // One poller, ten slots: a full receive of ten, five of which finish soon and five stay. With
    // five slots free and five in flight the poller may wait a short while for more, then asks
    // anyway; the lone message is taken well within a second of being sent (the bound is generous:
    // this is about not idling, not about timing).
    const { sqs } = countingClient(emulator);
    const queueUrl = await queueWith(10);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const startedAt = new Map<string, number>();
    consumer = consumerOf(sqs, queueUrl, 10, async (message) => {
      startedAt.set(message.Body ?? '', performance.now());
      if (message.Body === 'lone-0') return;
      const index = Number(message.Body?.split('-')[1]);
      await (index % 2 === 0 ? sleep(50) : held);
    });
    consumer.start();
    try {
      const handled = () => consumer?.stats.succeeded ?? 0;
      await waitUntil('five quick messages handled', () => handled() === 5);
      await sleep(300);
      const sent = performance.now();
      await send(queueUrl, 1, 'lone');
      await waitUntil('the lone message', () => startedAt.has('lone-0'), 5000);
      const delayMs = (startedAt.get('lone-0') ?? 0) - sent;
      expect(delayMs, `taken ${Math.round(delayMs)} ms after it was sent`).to.be.below(1000);
    } finally {
      release();
    }
  });

  it('a lone message on an idle queue is taken at once', async () => {
    const { sqs } = countingClient(emulator);
    const queueUrl = await queueWith(0);
    let takenAt: number | undefined;
    consumer = consumerOf(sqs, queueUrl, 100, async () => {
      takenAt = performance.now();
    });
    consumer.start();
    await sleep(300);
    const sent = performance.now();
    await send(queueUrl, 1, 'lone');
    await waitUntil('the lone message', () => takenAt !== undefined, 5000);
    expect((takenAt ?? 0) - sent).to.be.below(1000);
  });

  it('extends the visibility of slow messages in ChangeMessageVisibilityBatch calls, none delivered twice', async () => {
    // Visibility 1 s, handler 2.5 s: without extensions every message would come back.
    const count = 20;
    const { sqs, seen } = countingClient(emulator);
    const receiveCounts: number[] = [];
    consumer = consumerOf(sqs, await queueWith(count, 1), count, async (_message, delivery) => {
      receiveCounts.push(delivery.receiveCount);
      await sleep(2500);
    });
    const handled = await drain(consumer, count);
    await sleep(1500);
    expect(handled.size).to.equal(count);
    expect([...handled.values()].every((times) => times === 1)).to.equal(true);
    expect(receiveCounts.every((receiveCount) => receiveCount === 1), JSON.stringify(receiveCounts)).to.equal(true);
    expect(seen.calls.ChangeMessageVisibilityCommand ?? 0, 'single visibility calls').to.equal(0);
    const sizes = seen.visibilityBatches.map((handles) => handles.length);
    const entries = sizes.reduce((sum, size) => sum + size, 0);
    // Each message is due every half timeout (500 ms): four or five extensions in 2.5 s.
    expect(entries, 'extensions').to.be.at.least(count * 3);
    expect(Math.max(...sizes)).to.be.at.most(10);
    expect(entries / sizes.length, JSON.stringify(sizes)).to.be.at.least(5);
    expect(logs.events('queue.visibility_failed')).to.be.empty;
  });

  it('retries the entries of an extension batch that failed, while their handles are valid', async () => {
    const count = 10;
    // Indexes into seen.visibilityBatches.
    let unanswered: number | undefined;
    let partlyFailed: { call: number; failed: string } | undefined;
    const { sqs, seen } = countingClient(emulator, (command, input, output) => {
      if (command !== 'ChangeMessageVisibilityBatchCommand') return;
      const entries = input.Entries as { Id: string; ReceiptHandle: string }[];
      // The first call gets no answer; the next comes back with one entry failed on SQS's side.
      if (!output && unanswered === undefined) {
        unanswered = seen.visibilityBatches.length - 1;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      if (output && !partlyFailed && entries.length > 1) {
        const successful = output.Successful as { Id: string }[];
        const [first] = successful.splice(0, 1);
        const failed = entries.find((entry) => entry.Id === first?.Id)?.ReceiptHandle ?? '';
        partlyFailed = { call: seen.visibilityBatches.length - 1, failed };
        output.Failed = [{ Id: first?.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' }];
      }
    });
    consumer = consumerOf(sqs, await queueWith(count, 2), count, () => sleep(2500));
    const handled = await drain(consumer, count);
    await sleep(2000);
    expect([...handled.values()].every((times) => times === 1)).to.equal(true);
    expect(handled.size).to.equal(count);
    const batches = seen.visibilityBatches.map((handles) => [...handles].sort().join(' '));
    expect(unanswered, 'a call that got no answer').to.not.equal(undefined);
    expect(partlyFailed, 'a call with an entry failed').to.not.equal(undefined);
    // The call that got no answer is sent again with the same entries...
    const again = batches.indexOf(batches[unanswered ?? 0] ?? '', (unanswered ?? 0) + 1);
    expect(again, 'the unanswered call again').to.be.above(unanswered ?? 0);
    // ...and the entry that failed is sent again alone.
    const alone = batches.indexOf(partlyFailed?.failed ?? 'none', (partlyFailed?.call ?? 0) + 1);
    expect(alone, 'the failed entry alone').to.be.above(partlyFailed?.call ?? 0);
    expect(logs.events('queue.visibility_failed')).to.be.empty;
  });

  it('a handler that throws RetryAfter gets its message back after that delay: not deleted, not counted as failed', async () => {
    const { sqs, seen } = countingClient(emulator);
    const deliveries: number[] = [];
    consumer = consumerOf(sqs, await queueWith(1), 1, async (_message, delivery) => {
      deliveries.push(Date.now());
      if (delivery.receiveCount === 1) throw new RetryAfter(1200);
    });
    const handled = await drain(consumer, 1);
    expect([...handled.values()]).to.deep.equal([1]);
    expect(deliveries).to.have.length(2);
    // 1,200 ms rounds up to 2 s of invisibility: back no earlier than asked, and not at once.
    expect(deliveries[1]! - deliveries[0]!).to.be.within(1200, 3500);
    expect(consumer.stats).to.include({ succeeded: 1, failed: 0, deferred: 1 });
    expect(seen.calls.ChangeMessageVisibilityCommand).to.equal(1);
    expect(retryAfterSeconds(1200)).to.equal(2);
    expect(retryAfterSeconds(0)).to.equal(0);
    expect(retryAfterSeconds(Number.MAX_SAFE_INTEGER)).to.equal(MAX_VISIBILITY_SECONDS);
  });
});

async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
