import { createDynamoDbClient, createSqsClient } from '../../lib/aws-clients.ts';
import type { ProcessorConfig } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { OrderRecords } from '../../lib/order-records.ts';
import { QueueConsumer, type MessageHandler } from '../../lib/queue-consumer.ts';
import { createOrderMessageHandler } from './order-worker.ts';

export interface ProcessorOptions {
  /** How much longer than PROCESSING_TIME_MS a claim's lease runs (order-worker.ts: ECS_LEASE_MARGIN_MS). */
  leaseMarginMs?: number;
}

/**
 * The ECS processor: a queue consumer whose handler is the shared order core, claiming each order
 * in the orders table (ORDERS_TABLE_NAME) before working on it.
 */
export function createProcessor(config: ProcessorConfig, logger: Logger, options: ProcessorOptions = {}): QueueConsumer {
  // One socket per order in flight at most (a claim or a completion each), as many as the SDK's default otherwise.
  const dynamodb = createDynamoDbClient(config.aws, { maxSockets: Math.max(50, config.concurrency) });
  const records = new OrderRecords({ dynamodb, tableName: config.ordersTableName });
  return createQueueConsumer(
    config,
    logger,
    createOrderMessageHandler({
      logger,
      processingTimeMs: config.processingTimeMs,
      records,
      ...(options.leaseMarginMs !== undefined ? { leaseMarginMs: options.leaseMarginMs } : {}),
    }),
  );
}

/** The processor's queue consumer on its configuration, running `handleMessage` on each message. */
export function createQueueConsumer(config: ProcessorConfig, logger: Logger, handleMessage: MessageHandler): QueueConsumer {
  // A long poll waits up to waitTimeSeconds for an answer: give the request that much more time.
  const sqs = createSqsClient(config.aws, { requestTimeoutMs: config.waitTimeSeconds * 1000 + 10_000, maxAttempts: 1 });
  return new QueueConsumer({
    sqs,
    queueUrl: config.queueUrl,
    logger,
    concurrency: config.concurrency,
    waitTimeSeconds: config.waitTimeSeconds,
    retryDelaySeconds: config.retryDelaySeconds,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    handleMessage,
  });
}
