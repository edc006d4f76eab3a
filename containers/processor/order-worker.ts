import type { Logger } from '../../lib/logger.ts';
import { decodeSqsMessage, describeOrderMessage } from '../../lib/order-message.ts';
import { handleOrderMessage, OrderHeldError } from '../../lib/order-processing.ts';
import type { OrderRecords } from '../../lib/order-records.ts';
import { RetryAfter, type MessageHandler } from '../../lib/queue-consumer.ts';

/**
 * How much longer than PROCESSING_TIME_MS an ECS claim's lease runs. The lease only has to outlive
 * the work (a completion is recorded only under its own claim token, so even a lease that ran out
 * cannot make an order take effect twice; it would waste work), and it is what a concurrent
 * duplicate delivery waits for. 5 s covers a loaded task's event-loop lag and garbage collection
 * many times over, and clock differences between tasks (synchronised to well under a second); a
 * crashed task's orders come back only after the queue's visibility timeout (30 s), by when the
 * lease of a 3 s order has long run out, so the margin costs nothing after a crash.
 */
export const ECS_LEASE_MARGIN_MS = 5_000;

/** A held delivery comes back this much after the holder's lease ends, so that it finds it ended. */
const HELD_RETRY_SLACK_MS = 500;

export interface OrderMessageHandlerOptions {
  logger: Logger;
  processingTimeMs: number;
  records: OrderRecords;
  /** Lease = processingTimeMs + this (default ECS_LEASE_MARGIN_MS). */
  leaseMarginMs?: number;
}

/**
 * The ECS adapter: one SQS message (raw order or SNS envelope) through the shared order core.
 *
 * - The claim's lease is PROCESSING_TIME_MS plus `leaseMarginMs`.
 * - A delivery that finds the order held by another worker's live lease is left for later: the
 *   consumer sets its visibility to what is left of the lease (RetryAfter), so it comes back once
 *   the holder has finished (a duplicate, then deleted) or crashed (claimed then). On the queue's
 *   last allowed receive, where leaving it would send it to the DLQ, it waits for the lease in
 *   hand instead (the consumer keeps its visibility extended) and claims again.
 * - A failure is rethrown so the consumer leaves the message for redelivery; on the queue's last
 *   allowed receive the record is marked dead_lettered and the failure logged as
 *   `order.dead_lettered`, since SQS moves the message to the DLQ next.
 */
export function createOrderMessageHandler(options: OrderMessageHandlerOptions): MessageHandler {
  const { logger, processingTimeMs, records, leaseMarginMs = ECS_LEASE_MARGIN_MS } = options;
  const leaseMs = processingTimeMs + leaseMarginMs;
  return async (message, delivery) => {
    const messageId = message.MessageId ?? 'unknown';
    const lastReceive = delivery.maxReceiveCount !== undefined && delivery.receiveCount >= delivery.maxReceiveCount;
    try {
      await handleOrderMessage(() => decodeSqsMessage(message), {
        path: 'ecs',
        messageId,
        logger,
        processingTimeMs,
        attempt: delivery.receiveCount,
        signal: delivery.signal,
        claims: {
          records,
          leaseMs: () => leaseMs,
          // Wait only where giving the message back would dead-letter it: at most one lease more.
          waitForHolderUntil: (leaseUntil) => (lastReceive ? Math.min(leaseUntil, Date.now() + leaseMs) + HELD_RETRY_SLACK_MS : 0),
          isFinalAttempt: () => lastReceive,
        },
      });
    } catch (error) {
      if (delivery.signal.aborted) throw error;
      if (error instanceof OrderHeldError && !lastReceive) throw new RetryAfter(error.retryAfterMs + HELD_RETRY_SLACK_MS, { cause: error });
      if (lastReceive) {
        logger.error(
          { event: 'order.dead_lettered', ...describeOrderMessage(() => decodeSqsMessage(message)), path: 'ecs', message_id: messageId, receive_count: delivery.receiveCount },
          'order failed on its last allowed delivery; SQS moves it to the dead-letter queue',
        );
      }
      throw error;
    }
  };
}
