import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { OrderMessage } from './order-message.ts';
import { parseOrder, type Order } from './order-schema.ts';

/** The three ways an order is processed: inline in the receiver, by the ECS worker, by the Lambda. */
export type OrderPath = 'sync' | 'ecs' | 'lambda';

export interface OrderContext {
  path: OrderPath;
  requestId: string;
  logger: Logger;
  /** The simulated work per order (PROCESSING_TIME_MS). */
  processingTimeMs: number;
  /** When the receiver accepted the order (epoch ms), if known: gives the end-to-end latency. */
  acceptedAt?: number | undefined;
  /** Delivery attempt, 1 for the first (SQS receive count, Lambda retry + 1). */
  attempt?: number | undefined;
  /** Aborted when the order is handed back (shutdown): the work stops, nothing is logged as done. */
  signal?: AbortSignal | undefined;
}

/** What processing an order yields, identical on every path. */
export interface OrderResult {
  order_id: string;
  customer_id: number;
  item_count: number;
  unit_count: number;
  total: number;
  path: OrderPath;
  request_id: string;
  processing_ms: number;
  processed_at: string;
  /** Accept → processed, when the acceptance time travelled with the order. */
  end_to_end_ms?: number;
}

/** Sum of quantity × price, computed in cents so 0.1 + 0.2 stays 0.30. */
export function orderTotal(order: Order): number {
  const cents = order.items.reduce((sum, item) => sum + Math.round(item.price * 100) * item.quantity, 0);
  return cents / 100;
}

/** Processes a valid order: the simulated work, then one `order.processed` line. */
export async function processOrder(order: Order, context: OrderContext): Promise<OrderResult> {
  const started = performance.now();
  await sleep(context.processingTimeMs, undefined, context.signal ? { signal: context.signal } : {});
  const processingMs = Math.round(performance.now() - started);
  const now = Date.now();
  const result: OrderResult = {
    order_id: order.order_id,
    customer_id: order.customer_id,
    item_count: order.items.length,
    unit_count: order.items.reduce((sum, item) => sum + item.quantity, 0),
    total: orderTotal(order),
    path: context.path,
    request_id: context.requestId,
    processing_ms: processingMs,
    processed_at: new Date(now).toISOString(),
    ...(context.acceptedAt !== undefined ? { end_to_end_ms: now - context.acceptedAt } : {}),
  };
  context.logger.info(
    { event: 'order.processed', ...result, ...(context.attempt !== undefined ? { attempt: context.attempt } : {}) },
    'order processed',
  );
  return result;
}

/** Where a queued order came from, before it is decoded. */
export type OrderDelivery = Omit<OrderContext, 'requestId' | 'acceptedAt'> & {
  /** The transport's message id, used as request id when the message carries none. */
  messageId: string;
};

/**
 * The queue-side entry point shared by the ECS processor and the Lambda: decode the message,
 * validate the order, process it, and log `order.failed` (then rethrow) when any step fails, so
 * the caller's retry machinery (SQS redelivery, Lambda async retries) takes over.
 */
export async function handleOrderMessage(decode: () => OrderMessage, delivery: OrderDelivery): Promise<OrderResult> {
  let message: OrderMessage | undefined;
  try {
    message = decode();
    return await processOrder(parseOrder(message.payload), {
      ...delivery,
      requestId: message.requestId,
      acceptedAt: message.acceptedAt,
    });
  } catch (error) {
    const orderId = (message?.payload as { order_id?: unknown } | null | undefined)?.order_id;
    const released = delivery.signal?.aborted === true;
    delivery.logger[released ? 'info' : 'warn'](
      {
        event: released ? 'order.released' : 'order.failed',
        order_id: typeof orderId === 'string' ? orderId : undefined,
        path: delivery.path,
        request_id: message?.requestId ?? delivery.messageId,
        message_id: delivery.messageId,
        ...(delivery.attempt !== undefined ? { attempt: delivery.attempt } : {}),
        ...(released ? {} : { error: describeError(error) }),
      },
      released ? 'order handed back unfinished' : 'order failed',
    );
    throw error;
  }
}
