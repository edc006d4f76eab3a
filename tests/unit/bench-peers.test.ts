import { PublishBatchCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { startFauxqs } from 'fauxqs';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { provisionMessaging } from '../../local/provision.ts';
import { awsAction, callsBetween, readCallCounts, sumCalls, withCallCounter } from '../../scripts/bench/call-counter.ts';
import { processorChecks, receiverChecks } from '../../scripts/bench/issue-targets.ts';
import { startFastifyPeer } from '../../scripts/bench/peers/fastify.ts';
import { startKoaPeer } from '../../scripts/bench/peers/koa.ts';
import { startNodeHttpPeer } from '../../scripts/bench/peers/node-http.ts';
import { perOrderPublisher, type RunningPeer } from '../../scripts/bench/peers/order-work.ts';
import type { ProcessorRow } from '../../scripts/bench/processor.ts';
import type { ReceiverRow } from '../../scripts/bench/receiver.ts';

// The benchmark's peers and its call counting, on loopback against the emulator; no test here asserts on a time.
describe('benchmark peers and call counting', function () {
  this.timeout(30_000);
  let emulator: Awaited<ReturnType<typeof startFauxqs>>;
  let counts: () => Record<string, number>;
  let aws: AwsConfig;
  let topicArn: string;
  let queueUrl: string;

  before(async () => {
    ({ started: emulator, counts } = await withCallCounter(() => startFauxqs({ port: 0, logger: false })));
    aws = { region: 'us-east-1', endpoint: `http://127.0.0.1:${emulator.port}` };
    ({ topicArn, ordersQueueUrl: queueUrl } = await provisionMessaging({ sns: createSnsClient(aws), sqs: createSqsClient(aws), stage: 'bench-peers-test', mode: 'ecs' }));
  });
  after(() => emulator.stop());

  it('names the action of an SQS (JSON protocol) and an SNS (query protocol) request', () => {
    expect(awsAction({ 'x-amz-target': 'AmazonSQS.ReceiveMessage' }, {})).to.equal('ReceiveMessage');
    expect(awsAction({}, { Action: 'PublishBatch', TopicArn: 'arn' })).to.equal('PublishBatch');
    expect(awsAction({}, undefined)).to.equal(undefined);
    expect(callsBetween({ Publish: 2, ReceiveMessage: 5 }, { Publish: 7, ReceiveMessage: 5, PublishBatch: 1 })).to.deep.equal({ Publish: 5, PublishBatch: 1 });
    expect(sumCalls({ Publish: 5, PublishBatch: 1, ReceiveMessage: 3 }, ['Publish', 'PublishBatch'])).to.equal(6);
  });

  it('counts a PublishBatch of ten orders as one call and a ReceiveMessage as one', async () => {
    const before = counts();
    const entries = Array.from({ length: 10 }, (_, index) => ({ Id: `e${index}`, Message: `{"n":${index}}` }));
    await createSnsClient(aws).send(new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: entries }));
    const { Messages = [] } = await createSqsClient(aws).send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(Messages.length).to.be.greaterThan(0);
    expect(callsBetween(before, counts())).to.deep.equal({ PublishBatch: 1, ReceiveMessage: 1 });
    // The same counts over HTTP, as the benchmark reads them from the emulator's process.
    expect(await readCallCounts(aws.endpoint ?? '')).to.deep.equal(counts());
  });

  const peers: [string, (publish: ReturnType<typeof perOrderPublisher>) => Promise<RunningPeer>][] = [
    ['minimal Koa app', startKoaPeer],
    ['fastify app', startFastifyPeer],
    ['bare node:http', startNodeHttpPeer],
  ];
  for (const [name, start] of peers) {
    it(`${name}: answers the receiver's contract: 202 with the message id after one Publish, 400 naming the field`, async () => {
      const peer = await start(perOrderPublisher(createSnsClient(aws), topicArn));
      try {
        const post = (body: string) => fetch(`${peer.url}/orders/async`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        const before = counts();
        const accepted = await post('{"order_id":"peer-1","customer_id":7,"items":[{"product_id":"SKU-1","quantity":2,"price":3.5}]}');
        expect(accepted.status).to.equal(202);
        const body = (await accepted.json()) as { status: string; order_id: string; message_id: string };
        expect(body).to.include({ status: 'accepted', order_id: 'peer-1' });
        expect(body.message_id).to.match(/^[0-9a-f-]{36}$/);
        expect(callsBetween(before, counts())).to.deep.equal({ Publish: 1 });

        const refused = await post('{"order_id":"peer-2","customer_id":7,"items":[{"product_id":"SKU-1","quantity":0,"price":3.5}]}');
        expect(refused.status).to.equal(400);
        const problem = (await refused.json()) as { error: { code: string; details: { field: string }[] } };
        expect(problem.error.code).to.equal('invalid_order');
        expect(problem.error.details.map((detail) => detail.field)).to.deep.equal(['items.0.quantity']);
      } finally {
        await peer.stop();
      }
    });
  }
});

describe('issue 11 targets: met or not on given figures', () => {
  const receiverRow = (key: ReceiverRow['key'], connections: number, ordersPerSecond: number, extra: Partial<ReceiverRow> = {}): ReceiverRow => ({
    key, name: key, connections, ordersPerSecond, p50Ms: 1, p99Ms: 2, cpuMsPerOrder: 1, snsCallsPerOrder: 1, tableCallsPerOrder: 0, calls: {}, accepted: 100, notAccepted: 0, ...extra,
  });

  it('checks the receiver against today and fastify at the most connections, and p50 at one', () => {
    const rows = [
      receiverRow('receiver', 50, 3500, { cpuMsPerOrder: 0.2, snsCallsPerOrder: 0.12 }),
      receiverRow('today', 50, 1000),
      receiverRow('fastify', 50, 1200),
      receiverRow('receiver', 1, 800, { p50Ms: 1.6 }),
      receiverRow('today', 1, 900, { p50Ms: 1.1 }),
    ];
    const checks = receiverChecks({ rows, baseline: 'abc' });
    // 3500 = 3.5 × 1000: met; 0.2 ms: met; 3500 < 3 × 1200 = 3600: not met; 1.6 − 1.1 = 0.5 ms: met; 0.12: met.
    expect(checks.map((entry) => entry.met)).to.deep.equal([true, true, false, true, true]);
    expect(checks[2]?.figure).to.equal('3,500/s (2.92×)');
    expect(checks[2]?.beside).to.equal('fastify 1,200/s');
    const slower = receiverChecks({ rows: rows.map((row) => (row.key === 'receiver' && row.connections === 1 ? { ...row, p50Ms: 1.61 } : row)), baseline: 'abc' });
    expect(slower[3]?.met).to.equal(false);
    // Without today's rows (no git history) those checks are n/a, not "not met".
    const alone = receiverChecks({ rows: rows.filter((row) => row.key !== 'today'), baseline: 'abc' });
    expect(alone.map((entry) => entry.met)).to.deep.equal([undefined, true, false, undefined, true]);
  });

  it("shows the receiver's intake in each framework beside the throughput and CPU targets, judged on the receiver alone", () => {
    const rows = [
      receiverRow('receiver', 50, 3500, { cpuMsPerOrder: 0.25 }),
      receiverRow('today', 50, 1000),
      receiverRow('fastify', 50, 1200),
      receiverRow('koa-intake', 50, 3000, { cpuMsPerOrder: 0.3 }),
      receiverRow('node-http-intake', 50, 6000, { cpuMsPerOrder: 0.15 }),
    ];
    const checks = receiverChecks({ rows, baseline: 'abc' });
    expect(checks[0]?.beside).to.equal("today's 1,000/s; its intake with its records in minimal Koa 3.00×, node:http 6.00×");
    expect(checks[1]?.beside).to.equal("today's 1.00 ms, fastify 1.00 ms; its intake with its records in minimal Koa 0.30 ms, node:http 0.15 ms");
    expect(checks[2]?.beside).to.equal('fastify 1,200/s; its intake with its records in minimal Koa 2.50×, node:http 5.00×');
    expect(checks.slice(0, 3).map((entry) => entry.met)).to.deep.equal([true, false, false]);
  });

  const processorRow = (key: ProcessorRow['key'], concurrency: number, ordersPerSecond: number, extra: Partial<ProcessorRow> = {}): ProcessorRow => ({
    key, name: key, concurrency, handlerMs: 0, orders: 100, ordersPerSecond, roundsPerSecond: [ordersPerSecond], cpuMsPerOrder: 0.2, calls: {},
    perOrder: { receives: 0.1, deletes: 0.1, visibility: 0, all: 0.2, table: 0 }, efficiency: Number.NaN, peakInFlight: undefined, ...extra,
  });

  it('checks the processor against sqs-consumer handleMessageBatch and today', () => {
    const figures = {
      baseline: 'abc',
      drains: [
        processorRow('sqs-consumer-batch', 100, 5000, { cpuMsPerOrder: 0.2 }),
        // The targets judge the consumer without its claims; the processor with them is far behind.
        processorRow('processor', 100, 700, { cpuMsPerOrder: 1.3 }),
        processorRow('processor-unclaimed', 100, 5000, { cpuMsPerOrder: 0.21 }),
        // With claims the processor is slower than today's, which has none: the no-slower checks
        // compare the same consumer without its claims.
        processorRow('processor', 1, 200),
        processorRow('processor-unclaimed', 1, 445),
        processorRow('today', 1, 449, { roundsPerSecond: [440, 449, 460] }),
        processorRow('processor', 10, 1500),
        processorRow('processor-unclaimed', 10, 3000),
        processorRow('today', 10, 3100, { roundsPerSecond: [3050, 3100, 3150] }),
      ],
      efficiency: [
        processorRow('processor', 100, 86, { handlerMs: 1000, efficiency: 0.86, perOrder: { receives: 0.15, deletes: 0.1, visibility: 0.03, all: 0.28, table: 2 } }),
        processorRow('processor-unclaimed', 100, 97, { handlerMs: 1000, efficiency: 0.97, perOrder: { receives: 0.12, deletes: 0.1, visibility: 0.03, all: 0.25, table: 0 } }),
      ],
    };
    const checks = processorChecks(figures);
    // 5000 ≥ 1.0 × 5000: met; 0.21 > 0.2 ms: not met; 0.25 calls at 0.97: met;
    // 445 ≥ 449 − (460 − 440) / 2 = 439: met (within today's own spread); 3000 < 3100 − 50: not met.
    expect(checks.map((entry) => entry.met)).to.deep.equal([true, false, true, true, false]);
    const worse = processorChecks({ ...figures, efficiency: [processorRow('processor-unclaimed', 100, 96, { handlerMs: 1000, efficiency: 0.96 })] });
    expect(worse[2]?.met).to.equal(false);
    // One round of today's: no spread to judge by, so the check is n/a rather than decided by noise.
    const single = processorChecks({ ...figures, drains: figures.drains.map((row) => ({ ...row, roundsPerSecond: [row.ordersPerSecond] })) });
    expect(single[3]?.met).to.equal(undefined);
  });
});
