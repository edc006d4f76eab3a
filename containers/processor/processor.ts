import { createSqsClient } from '../../lib/aws-clients.ts';
import type { ProcessorConfig } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { QueueConsumer } from '../../lib/queue-consumer.ts';
import { createOrderMessageHandler } from './order-worker.ts';

/** The ECS processor: a queue consumer whose handler is the shared order core. */
export function createProcessor(config: ProcessorConfig, logger: Logger): QueueConsumer {
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
    handleMessage: createOrderMessageHandler({ logger, processingTimeMs: config.processingTimeMs }),
  });
}
