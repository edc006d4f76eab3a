import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createSnsClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { ProcessorConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { orderMessageAttributes } from '../../lib/order-message.ts';
import type { QueueConsumer } from '../../lib/queue-consumer.ts';
import { createProcessor, type ProcessorOptions } from '../../containers/processor/processor.ts';
import type { Order } from '../../lib/order-schema.ts';
import type { LogCollector } from '../../local/log-collector.ts';
import type { TestStack } from './stack.ts';

/** A processor of the stack's orders queue with its own settings, logging into `logs`. */
export function processorFor(
  stack: TestStack,
  logs: LogCollector,
  overrides: Partial<ProcessorConfig> = {},
  options: ProcessorOptions = {},
): QueueConsumer {
  const config: ProcessorConfig = {
    aws: stack.aws,
    logLevel: 'info',
    processingTimeMs: 50,
    ordersTableName: stack.ordersTableName,
    queueUrl: stack.resources.ordersQueueUrl,
    concurrency: 10,
    waitTimeSeconds: 1,
    retryDelaySeconds: 0,
    shutdownTimeoutMs: 3000,
    ...overrides,
  };
  return createProcessor(config, createLogger({ component: 'processor', destination: logs }), options);
}

/** Publishes orders to the stack's topic as the receiver does (request id and acceptance time attached). */
export async function publishOrders(stack: TestStack, orders: Order[]): Promise<void> {
  const sns = createSnsClient(stack.aws);
  await Promise.all(
    orders.map((order) =>
      sns.send(
        new PublishCommand({
          TopicArn: stack.resources.topicArn,
          Message: JSON.stringify(order),
          MessageAttributes: orderMessageAttributes(`req-${order.order_id}`, Date.now()),
        }),
      ),
    ),
  );
}

/** Puts raw bodies straight onto a queue, bypassing the receiver's validation (poison messages). */
export async function sendRaw(stack: TestStack, queueUrl: string, bodies: string[]): Promise<void> {
  const sqs = createSqsClient(stack.aws);
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: `b${index}`, MessageBody: body }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}
