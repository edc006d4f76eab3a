import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SNSEvent } from 'aws-lambda';
import { describeError, MalformedMessageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { decodeSnsRecord, describeOrderMessage } from '../lib/order-message.ts';
import { QueueConsumer } from '../lib/queue-consumer.ts';
import { lambdaContext, snsEventFromEnvelope, type SnsEnvelope } from './sns-event.ts';

export type LambdaHandler = (event: SNSEvent, context: Context) => Promise<unknown>;

export interface LocalLambdaInvokerOptions {
  sqs: SQSClient;
  /** The queue subscribed (envelope delivery) to the topic in place of the Lambda subscription. */
  queueUrl: string;
  /** The on-failure destination: receives Lambda's failure record after the last retry. */
  failureQueueUrl: string;
  subscriptionArn: string;
  handler: LambdaHandler;
  logger: Logger;
  functionName: string;
  /** Pause before each retry; its length is the retry count (Lambda: 2, after ~1 and ~2 minutes). */
  retryDelaysMs: number[];
  /** Like the function's timeout: an invocation still running then counts as failed. */
  timeoutMs: number;
  /** Invocations at once (Lambda's account default is 1000). */
  concurrency: number;
}

/**
 * The function's own figures, as CloudWatch counts them for a deployed Lambda: Invocations (each
 * attempt, retries included) and Errors (attempts that failed), plus what became of each order:
 * processed, or sent to the on-failure destination after its last retry.
 */
export interface LambdaStats {
  /** Orders whose invocations are under way or waiting for a retry. */
  inFlight: number;
  invocations: number;
  errors: number;
  succeeded: number;
  deadLettered: number;
}

class InvocationTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'InvocationTimeout';
  }
}

/**
 * Stands in for SNS → Lambda, which the emulator cannot do: takes each notification from its
 * queue, invokes the real handler with a real-shaped SNSEvent (one record per invocation), and
 * applies Lambda's asynchronous-invocation rule: on failure, retry after a pause, and after the
 * last retry send the failure record to the on-failure destination queue.
 */
export class LocalLambdaInvoker {
  private readonly consumer: QueueConsumer;
  private readonly options: LocalLambdaInvokerOptions;
  private readonly counters = { invocations: 0, errors: 0, succeeded: 0, deadLettered: 0 };

  constructor(options: LocalLambdaInvokerOptions) {
    this.options = options;
    this.consumer = new QueueConsumer({
      sqs: options.sqs,
      queueUrl: options.queueUrl,
      logger: options.logger,
      concurrency: options.concurrency,
      waitTimeSeconds: 20,
      retryDelaySeconds: 1,
      handleMessage: (message, delivery) => this.deliver(message, delivery.signal),
    });
  }

  start(): void {
    this.consumer.start();
  }

  stop() {
    return this.consumer.stop();
  }

  /** Orders under way (including retries waiting for their turn) and the function's totals. */
  get stats(): LambdaStats {
    return { inFlight: this.consumer.stats.inFlight, ...this.counters };
  }

  private async deliver(message: Message, signal: AbortSignal): Promise<void> {
    const event = snsEventFromEnvelope(this.parseEnvelope(message), this.options.subscriptionArn);
    const attempts = this.options.retryDelaysMs.length + 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) await sleep(this.options.retryDelaysMs[attempt - 2], undefined, { signal });
      const context = lambdaContext(this.options.functionName, this.options.timeoutMs);
      this.counters.invocations += 1;
      try {
        await this.invoke(event, context);
        this.counters.succeeded += 1;
        return;
      } catch (error) {
        lastError = error;
        if (signal.aborted) throw error;
        this.counters.errors += 1;
        this.options.logger.warn(
          {
            event: 'lambda.invocation_failed',
            function_name: this.options.functionName,
            aws_request_id: context.awsRequestId,
            attempt,
            attempts,
            error: describeError(error),
          },
          attempt < attempts ? 'invocation failed; Lambda retries it' : 'invocation failed on its last retry',
        );
      }
    }
    await this.sendToFailureDestination(event, attempts, lastError);
  }

  private parseEnvelope(message: Message): SnsEnvelope {
    try {
      return JSON.parse(message.Body ?? '') as SnsEnvelope;
    } catch (error) {
      throw new MalformedMessageError('notification is not an SNS envelope', message.MessageId, { cause: error });
    }
  }

  private async invoke(event: SNSEvent, context: Context): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InvocationTimeout(this.options.timeoutMs)), this.options.timeoutMs);
    });
    try {
      await Promise.race([this.options.handler(event, context), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lambda's on-failure destination record for an asynchronous invocation. */
  private async sendToFailureDestination(event: SNSEvent, attempts: number, error: unknown): Promise<void> {
    const { code, message } = describeError(error);
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: lambdaContext(this.options.functionName, 0).awsRequestId,
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${this.options.functionName}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: code, errorMessage: message },
    };
    await this.options.sqs.send(new SendMessageCommand({ QueueUrl: this.options.failureQueueUrl, MessageBody: JSON.stringify(record) }));
    this.counters.deadLettered += 1;
    const details = this.describeRecord(event);
    this.options.logger.error(
      { event: 'order.dead_lettered', path: 'lambda', ...details, attempts, destination: this.options.failureQueueUrl },
      'order failed every Lambda attempt; kept in the on-failure destination',
    );
  }

  private describeRecord(event: SNSEvent): { order_id?: string; request_id?: string; message_id?: string } {
    const record = event.Records[0];
    if (!record) return {};
    return { message_id: record.Sns.MessageId, ...describeOrderMessage(() => decodeSnsRecord(record)) };
  }
}
