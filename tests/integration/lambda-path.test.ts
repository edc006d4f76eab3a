import { setTimeout as sleep } from 'node:timers/promises';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SNSEvent } from 'aws-lambda';
import { expect } from 'chai';
import { LAMBDA_LEASE_MARGIN_MS } from '../../handlers/process-order-handler.ts';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import { processedCounts } from '../../local/log-collector.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

describe('Lambda path: retries, then the on-failure destination', function () {
  this.timeout(30_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ mode: 'lambda', lambdaRetryDelaysMs: [50, 50] });
  });
  after(() => stack.stop());

  it('invokes an order that always fails 1 + 2 times, then keeps it in the failure queue', async () => {
    const poison = JSON.stringify({ order_id: 'poison-1', customer_id: 1, items: [] });
    await createSnsClient(stack.aws).send(
      new PublishCommand({ TopicArn: stack.resources.topicArn, Message: poison, MessageAttributes: orderMessageAttributes('req-poison', Date.now()) }),
    );
    await stack.logs.waitFor('the order to be dead-lettered', () => stack.logs.events('order.dead_lettered').length === 1);

    const attempts = messagingSettings.lambda.maximumRetryAttempts + 1;
    expect(stack.logs.events('order.failed', (line) => line.path === 'lambda')).to.have.length(attempts);
    expect(stack.logs.events('lambda.invocation_failed').map((line) => line.attempt)).to.deep.equal([1, 2, 3]);
    expect(stack.logs.events('order.dead_lettered')[0]).to.include({ path: 'lambda', order_id: 'poison-1', request_id: 'req-poison', attempts });
    // What the monitor shows: the Lambda's own figures, not a failed order counted as done.
    expect(stack.invoker?.stats).to.include({ inFlight: 0, invocations: attempts, errors: attempts, succeeded: 0, deadLettered: 1 });
    // A handler's error leaves its environment warm: one cold start, then two warm retries. The
    // retries of an asynchronous invocation keep its request id, as on Lambda.
    expect(stack.invoker?.stats).to.include({ coldStarts: 1, environments: 1, throttles: 0 });
    const requestIds = stack.logs.events('lambda.invocation_failed').map((line) => line.aws_request_id);
    expect(new Set(requestIds).size).to.equal(1);
    const reports = stack.logs.reports();
    expect(reports.map((report) => report.requestId)).to.deep.equal(requestIds);
    expect(reports.map((report) => report.initDurationMs !== undefined)).to.deep.equal([true, false, false]);

    const { Messages = [] } = await createSqsClient(stack.aws).send(
      new ReceiveMessageCommand({ QueueUrl: stack.resources.lambdaFailureQueueUrl, WaitTimeSeconds: 1 }),
    );
    expect(Messages).to.have.length(1);
    const record = JSON.parse(Messages[0]?.Body ?? '{}') as {
      requestContext: { condition: string; approximateInvokeCount: number };
      requestPayload: SNSEvent;
      responsePayload: { errorType: string; errorMessage: string };
    };
    expect(record.requestContext).to.include({ condition: 'RetriesExhausted', approximateInvokeCount: attempts });
    expect(record.requestPayload.Records[0]?.Sns.Message).to.equal(poison);
    expect(record.requestPayload.Records[0]?.EventSource).to.equal('aws:sns');
    // The Node.js runtime's errorType is the error's name (the bundle keeps class names).
    expect(record.responsePayload).to.include({ errorType: 'InvalidOrderError' });
    expect(record.responsePayload.errorMessage).to.contain('items: must hold at least one item');
  });

  it('a valid order published after the poison one is processed once', async () => {
    const order = { order_id: 'fine-1', customer_id: 7, items: [{ product_id: 'SKU-7', quantity: 2, price: 5 }] };
    await createSnsClient(stack.aws).send(new PublishCommand({ TopicArn: stack.resources.topicArn, Message: JSON.stringify(order) }));
    await stack.logs.waitFor('the order processed by the Lambda', () =>
      stack.logs.events('order.processed', (line) => line.order_id === 'fine-1').length === 1,
    );
    expect(stack.logs.events('order.processed', (line) => line.order_id === 'fine-1')[0]).to.include({ path: 'lambda', total: 10 });
  });
});

describe('Lambda path: the concurrency limit and the timeout, through the asynchronous queue', function () {
  this.timeout(60_000);
  let stack: TestStack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  const order = (id: string) => JSON.stringify({ order_id: id, customer_id: 7, items: [{ product_id: 'SKU-7', quantity: 1, price: 5 }] });

  it('throttles invocations over the reserved concurrency, retries them from the queue, and processes every order once', async () => {
    stack = await startTestStack({
      mode: 'lambda',
      processingTimeMs: 300,
      lambdaConcurrency: 3,
      lambdaThrottleBackoff: { initialMs: 100, maxMs: 400 },
    });
    const sns = createSnsClient(stack.aws);
    const ids = Array.from({ length: 12 }, (_, index) => `limited-${index}`);
    await Promise.all(ids.map((id) => sns.send(new PublishCommand({ TopicArn: stack!.resources.topicArn, Message: order(id) }))));

    const running = stack;
    let waitingSeen = 0;
    await running.logs.waitFor(
      'all twelve orders processed',
      () => {
        waitingSeen = Math.max(waitingSeen, running.invoker?.stats.waiting ?? 0);
        return running.logs.events('order.processed').length >= ids.length;
      },
      30_000,
    );
    await sleep(300);
    const processed = processedCounts(running.logs, 'lambda');
    expect([...processed.keys()].sort()).to.deep.equal([...ids].sort());
    expect([...processed.values()].every((count) => count === 1), 'each order once').to.equal(true);

    const stats = running.invoker!.stats;
    expect(stats.peakBusy, 'never more environments busy than the limit').to.equal(3);
    expect(stats.peakEnvironments).to.equal(3);
    expect(stats.throttles, 'invocations over the limit were throttled').to.be.above(0);
    expect(waitingSeen, 'throttled events waited in the asynchronous queue').to.be.above(0);
    expect(stats).to.include({ coldStarts: 3, invocations: 12, succeeded: 12, errors: 0, deadLettered: 0, waiting: 0 });
    // The REPORT lines say the same: twelve invocations, three of them cold starts.
    const reports = running.logs.reports();
    expect(reports).to.have.length(12);
    expect(reports.filter((report) => report.initDurationMs !== undefined)).to.have.length(3);
  });

  it('fails an invocation past the timeout, retries it in a new environment, and then keeps the order in the on-failure destination', async () => {
    // Each retry comes after the timed-out attempt's claim has run out (its lease: the 300 ms it had
    // left plus LAMBDA_LEASE_MARGIN_MS), as Lambda's retries (after about 1 and 2 minutes) always do:
    // sooner, the retry would find the order held and fail at once instead of timing out.
    stack = await startTestStack({ mode: 'lambda', processingTimeMs: 2000, lambdaTimeoutMs: 300, lambdaRetryDelaysMs: [300 + LAMBDA_LEASE_MARGIN_MS + 200, 300 + LAMBDA_LEASE_MARGIN_MS + 200] });
    await createSnsClient(stack.aws).send(new PublishCommand({ TopicArn: stack.resources.topicArn, Message: order('slow-1') }));
    const running = stack;
    await running.logs.waitFor('the slow order to be dead-lettered', () => running.logs.events('order.dead_lettered').length === 1, 20_000);

    const attempts = messagingSettings.lambda.maximumRetryAttempts + 1;
    const reports = running.logs.reports();
    expect(reports.map((report) => report.status)).to.deep.equal(Array(attempts).fill('timeout'));
    // Each timeout ended its environment: every attempt was a cold start.
    expect(reports.every((report) => report.initDurationMs !== undefined)).to.equal(true);
    expect(running.invoker!.stats).to.include({ coldStarts: attempts, environments: 0, errors: attempts, deadLettered: 1 });
    expect(running.logs.text.filter((line) => / Task timed out after 0\.30 seconds$/.test(line))).to.have.length(attempts);
    expect(running.logs.events('order.processed')).to.have.length(0);

    const { Messages = [] } = await createSqsClient(running.aws).send(
      new ReceiveMessageCommand({ QueueUrl: running.resources.lambdaFailureQueueUrl, WaitTimeSeconds: 1 }),
    );
    const record = JSON.parse(Messages[0]?.Body ?? '{}') as { requestContext: { condition: string }; responsePayload: { errorType: string } };
    expect(record.requestContext.condition).to.equal('RetriesExhausted');
    expect(record.responsePayload.errorType).to.equal('Sandbox.Timedout');
  });
});
