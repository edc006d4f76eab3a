import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SNSEvent } from 'aws-lambda';
import { describeError, MalformedMessageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { decodeSnsRecord, describeOrderMessage } from '../lib/order-message.ts';
import { QueueConsumer } from '../lib/queue-consumer.ts';
import {
  FunctionEnvironments,
  ThrottledError,
  type EnvironmentStats,
  type FunctionEnvironmentsOptions,
} from './lambda-runtime/function-environments.ts';
import type { TimedReport } from './lambda-runtime/platform-lines.ts';
import { snsEventFromEnvelope, type SnsEnvelope } from './sns-event.ts';

export interface LocalLambdaInvokerOptions {
  sqs: SQSClient;
  /** The queue subscribed (envelope delivery) to the topic in place of the Lambda subscription. */
  queueUrl: string;
  /** The on-failure destination: receives Lambda's failure record after the last retry. */
  failureQueueUrl: string;
  subscriptionArn: string;
  /** The function: its bundle, memory, timeout, environment, concurrency limit and log. */
  function: FunctionEnvironmentsOptions;
  logger: Logger;
  /** Pause before each retry; its length is the retry count (Lambda: 2, after ~1 and ~2 minutes). */
  retryDelaysMs: number[];
  /**
   * Pauses of a throttled event before it is tried again: from `initialMs`, doubling, at most
   * `maxMs` (Lambda: 1 s to 5 minutes), each with jitter so that throttled events spread out.
   */
  throttleBackoff?: { initialMs: number; maxMs: number };
  /** Age at which an event still not run goes to the on-failure destination (Lambda's default: 6 hours). */
  maximumEventAgeMs?: number;
}

/**
 * The function's own figures, as CloudWatch counts them for a deployed Lambda: Invocations (each
 * attempt, retries included, throttles not), Errors (attempts that failed), Throttles, and
 * ConcurrentExecutions (busy environments); plus what became of each order: processed, or sent to
 * the on-failure destination after its last retry.
 */
export interface LambdaStats extends EnvironmentStats {
  /** Orders whose invocations are under way, throttled, or waiting for a retry. */
  inFlight: number;
  /** Events throttled and waiting in the asynchronous queue for their next try. */
  waiting: number;
  invocations: number;
  errors: number;
  succeeded: number;
  deadLettered: number;
}

export const THROTTLE_BACKOFF = { initialMs: 1000, maxMs: 300_000 };
export const MAXIMUM_EVENT_AGE_MS = 6 * 3600_000;

/**
 * Stands in for SNS → Lambda, which the emulator cannot do: takes each notification from its
 * queue (the stand-in for Lambda's asynchronous event queue) and invokes the function's built
 * bundle in its execution environments (local/lambda-runtime) with a real-shaped SNSEvent, one
 * record per invocation, applying Lambda's asynchronous-invocation rules: a throttled event waits
 * and is tried again with a growing backoff (up to the maximum event age), a failed invocation is
 * retried after a pause with the same request id, and after the last retry the failure record
 * goes to the on-failure destination queue.
 */
export class LocalLambdaInvoker {
  private readonly consumer: QueueConsumer;
  private readonly options: LocalLambdaInvokerOptions;
  readonly environments: FunctionEnvironments;
  private readonly counters = { waiting: 0, invocations: 0, errors: 0, succeeded: 0, deadLettered: 0 };

  constructor(options: LocalLambdaInvokerOptions) {
    this.options = options;
    this.environments = new FunctionEnvironments(options.function);
    this.consumer = new QueueConsumer({
      sqs: options.sqs,
      queueUrl: options.queueUrl,
      logger: options.logger,
      // Events are taken from the queue as Lambda's pollers take them, whatever the function's
      // limit: those that find no environment are throttled and wait here for their next try.
      concurrency: 1000,
      waitTimeSeconds: 20,
      retryDelaySeconds: 1,
      handleMessage: (message, delivery) => this.deliver(message, delivery.signal),
    });
  }

  start(): void {
    this.consumer.start();
  }

  /** Stops taking events, lets invocations under way finish (throttled events go back to the queue), then ends every environment. */
  async stop(): Promise<void> {
    try {
      await this.consumer.stop();
    } finally {
      await this.environments.shutdown();
    }
  }

  /** Orders under way (including throttled ones and retries waiting for their turn) and the function's totals. */
  get stats(): LambdaStats {
    return { inFlight: this.consumer.stats.inFlight, ...this.environments.stats, ...this.counters };
  }

  /** The REPORT figures of the invocations that ended at or after `sinceMs` (epoch ms), for the cold-start report. */
  reports(sinceMs = 0): TimedReport[] {
    return this.environments.reportsSince(sinceMs);
  }

  private async deliver(message: Message, signal: AbortSignal): Promise<void> {
    const envelope = this.parseEnvelope(message);
    const event = snsEventFromEnvelope(envelope, this.options.subscriptionArn);
    const enqueuedAt = Date.parse(envelope.Timestamp) || Date.now();
    // One request id per event: Lambda keeps it across the retries of an asynchronous invocation.
    const requestId = randomUUID();
    const attempts = this.options.retryDelaysMs.length + 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) await sleep(this.options.retryDelaysMs[attempt - 2], undefined, { signal });
      const outcome = await this.invokeWhenAllowed(event, requestId, enqueuedAt, signal);
      if (outcome === 'expired') {
        await this.sendToFailureDestination(event, requestId, attempt - 1, 'EventAgeExceeded', lastError);
        return;
      }
      this.counters.invocations += 1;
      if (outcome.ok) {
        this.counters.succeeded += 1;
        return;
      }
      lastError = outcome.error;
      this.counters.errors += 1;
      this.options.logger.warn(
        {
          event: 'lambda.invocation_failed',
          function_name: this.options.function.functionName,
          aws_request_id: requestId,
          attempt,
          attempts,
          error: describeError(outcome.error),
        },
        attempt < attempts ? 'invocation failed; Lambda retries it' : 'invocation failed on its last retry',
      );
    }
    await this.sendToFailureDestination(event, requestId, attempts, 'RetriesExhausted', lastError);
  }

  /** One invocation, tried again after a backoff for as long as it is throttled and younger than the maximum event age. */
  private async invokeWhenAllowed(event: SNSEvent, requestId: string, enqueuedAt: number, signal: AbortSignal) {
    const backoff = this.options.throttleBackoff ?? THROTTLE_BACKOFF;
    const maximumAgeMs = this.options.maximumEventAgeMs ?? MAXIMUM_EVENT_AGE_MS;
    for (let throttled = 0; ; throttled += 1) {
      try {
        return await this.environments.invoke(event, requestId);
      } catch (error) {
        if (!(error instanceof ThrottledError)) throw error;
      }
      const pauseMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** throttled);
      if (Date.now() + pauseMs - enqueuedAt > maximumAgeMs) return 'expired' as const;
      this.counters.waiting += 1;
      try {
        await sleep(pauseMs / 2 + Math.random() * (pauseMs / 2), undefined, { signal });
      } finally {
        this.counters.waiting -= 1;
      }
    }
  }

  private parseEnvelope(message: Message): SnsEnvelope {
    try {
      return JSON.parse(message.Body ?? '') as SnsEnvelope;
    } catch (error) {
      throw new MalformedMessageError('notification is not an SNS envelope', message.MessageId, { cause: error });
    }
  }

  /** Lambda's on-failure destination record for an asynchronous invocation. */
  private async sendToFailureDestination(
    event: SNSEvent,
    requestId: string,
    attempts: number,
    condition: 'RetriesExhausted' | 'EventAgeExceeded',
    error: unknown,
  ): Promise<void> {
    const region = this.options.function.region ?? 'us-east-1';
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId,
        functionArn: `arn:aws:lambda:${region}:000000000000:function:${this.options.function.functionName}:$LATEST`,
        condition,
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      ...(error === undefined
        ? {}
        : {
            responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
            responsePayload: { errorType: (error as { errorType?: string }).errorType ?? describeError(error).code, errorMessage: describeError(error).message },
          }),
    };
    await this.options.sqs.send(new SendMessageCommand({ QueueUrl: this.options.failureQueueUrl, MessageBody: JSON.stringify(record) }));
    this.counters.deadLettered += 1;
    const details = this.describeRecord(event);
    this.options.logger.error(
      { event: 'order.dead_lettered', path: 'lambda', ...details, attempts, condition, destination: this.options.failureQueueUrl },
      condition === 'RetriesExhausted'
        ? 'order failed every Lambda attempt; kept in the on-failure destination'
        : 'order waited longer than the maximum event age; kept in the on-failure destination',
    );
  }

  private describeRecord(event: SNSEvent): { order_id?: string; request_id?: string; message_id?: string } {
    const record = event.Records[0];
    if (!record) return {};
    return { message_id: record.Sns.MessageId, ...describeOrderMessage(() => decodeSnsRecord(record)) };
  }
}
