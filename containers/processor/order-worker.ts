import type { Logger } from '../../lib/logger.ts';
import { decodeSqsMessage, describeOrderMessage } from '../../lib/order-message.ts';
import { handleOrderMessage } from '../../lib/order-processing.ts';
import type { MessageHandler } from '../../lib/queue-consumer.ts';

/**
 * The ECS adapter: one SQS message (raw order or SNS envelope) through the shared order core.
 * A failure is rethrown so the consumer leaves the message for redelivery; on the queue's last
 * allowed receive it is logged as `order.dead_lettered`, since SQS moves it to the DLQ next.
 */
export function createOrderMessageHandler(options: { logger: Logger; processingTimeMs: number }): MessageHandler {
  const { logger, processingTimeMs } = options;
  return async (message, delivery) => {
    const messageId = message.MessageId ?? 'unknown';
    try {
      await handleOrderMessage(() => decodeSqsMessage(message), {
        path: 'ecs',
        messageId,
        logger,
        processingTimeMs,
        attempt: delivery.receiveCount,
        signal: delivery.signal,
      });
    } catch (error) {
      const exhausted = delivery.maxReceiveCount !== undefined && delivery.receiveCount >= delivery.maxReceiveCount;
      if (exhausted && !delivery.signal.aborted) {
        logger.error(
          { event: 'order.dead_lettered', ...describeOrderMessage(() => decodeSqsMessage(message)), path: 'ecs', message_id: messageId, receive_count: delivery.receiveCount },
          'order failed on its last allowed delivery; SQS moves it to the dead-letter queue',
        );
      }
      throw error;
    }
  };
}
