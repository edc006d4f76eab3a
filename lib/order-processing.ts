import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, OrdersyncError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { OrderMessage } from './order-message.ts';
import { orderBodySha256, type OrderRecords, type PathRecord, type ProcessingPath } from './order-records.ts';
import { orderSchema, parseOrder, type Order } from './order-schema.ts';

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
  /**
   * Delivery attempt, 1 for the first: the SQS receive count on ECS; on the Lambda, which is not
   * told its retry number, the claim's attempt count on the path (lib/order-records.ts).
   */
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

/** The simulated work on a valid order and its result, without logging it. */
async function performOrder(order: Order, context: OrderContext): Promise<OrderResult> {
  const started = performance.now();
  await sleep(context.processingTimeMs, undefined, context.signal ? { signal: context.signal } : {});
  const processingMs = Math.round(performance.now() - started);
  const now = Date.now();
  return {
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
}

/** The one `order.processed` line: the order took effect. */
function logProcessed(result: OrderResult, context: Pick<OrderContext, 'logger' | 'attempt'>): void {
  context.logger.info(
    { event: 'order.processed', ...result, ...(context.attempt !== undefined ? { attempt: context.attempt } : {}) },
    'order processed',
  );
}

/** Processes a valid order: the simulated work, then one `order.processed` line (the sync path). */
export async function processOrder(order: Order, context: OrderContext): Promise<OrderResult> {
  const result = await performOrder(order, context);
  logProcessed(result, context);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Queued orders: one effect per path (issue 12).

/**
 * Another worker holds a live claim on the order for this path, and this delivery could not wait
 * for it to end. Not a failure of the order: the delivery should come back after `retryAfterMs`
 * (ECS: the message's visibility; Lambda: its asynchronous retry).
 */
export class OrderHeldError extends OrdersyncError {
  readonly orderId: string;
  /** Until when (epoch ms) the holder's lease runs. */
  readonly leaseUntil: number;
  readonly retryAfterMs: number;

  constructor(orderId: string, path: ProcessingPath, leaseUntil: number, now = Date.now()) {
    super('order_held', `order ${orderId} is being processed on the ${path} path by another worker (lease until ${new Date(leaseUntil).toISOString()})`);
    this.orderId = orderId;
    this.leaseUntil = leaseUntil;
    this.retryAfterMs = Math.max(0, leaseUntil - now);
  }
}

/**
 * How a path claims its orders in the orders table (lib/order-records.ts) before working on them.
 * The ECS processor and the Lambda differ only in these values, not in the mechanism.
 */
export interface OrderClaims {
  records: OrderRecords;
  /** The lease of a claim made now, in ms: it must outlive the work. */
  leaseMs: () => number;
  /**
   * Until when (epoch ms) this delivery may wait for another worker's live claim to end (the
   * holder's `leaseUntil` given), polling the record; at or before now, it does not wait.
   */
  waitForHolderUntil: (leaseUntil: number) => number;
  /**
   * Whether a failure of this delivery is the last one allowed: the message goes to the DLQ or
   * the on-failure destination next, so the record is marked `dead_lettered`. `claimAttempt` is
   * the record's attempt count after this delivery's claim (undefined when it made none).
   */
  isFinalAttempt: (claimAttempt: number | undefined) => boolean;
  /** How often a waiting delivery reads the record (default 200 ms). */
  pollMs?: number;
}

/** Where a queued order came from, before it is decoded. */
export type OrderDelivery = Omit<OrderContext, 'requestId' | 'acceptedAt' | 'path'> & {
  path: ProcessingPath;
  /** The transport's message id, used as request id when the message carries none. */
  messageId: string;
  claims: OrderClaims;
};

const orderIdSchema = orderSchema.shape.order_id;

/** The payload's order id when it is a valid one (the schema's rule), else undefined: such a message has no record. */
function recordableOrderId(payload: unknown): string | undefined {
  const id = (payload as { order_id?: unknown } | null | undefined)?.order_id;
  return orderIdSchema.safeParse(id).success ? (id as string) : undefined;
}

type Claimed = { attempt: number; token: string; leaseUntil: number };

/**
 * Claims the order for the delivery's path. `held` (another worker's live lease): the delivery
 * waits, reading the record, for as long as `waitForHolderUntil` allows, and claims again once the
 * holder finished, failed or let its lease run out; still held after that, OrderHeldError.
 */
async function claimOrder(orderId: string, delivery: OrderDelivery): Promise<Claimed | { duplicate: PathRecord }> {
  const { records, pollMs = 200 } = delivery.claims;
  for (;;) {
    const claim = await records.claim(orderId, delivery.path, { leaseMs: delivery.claims.leaseMs() });
    if (claim.outcome === 'claimed') return claim;
    if (claim.outcome === 'processed') return { duplicate: claim.record };
    let leaseUntil = claim.leaseUntil;
    const waitUntil = delivery.claims.waitForHolderUntil(leaseUntil);
    for (;;) {
      const now = Date.now();
      if (now >= waitUntil) throw new OrderHeldError(orderId, delivery.path, leaseUntil, now);
      // Until the next read: the poll interval, or just past the lease's end when that comes first.
      const pauseMs = Math.min(pollMs, Math.max(0, leaseUntil - now) + 5, waitUntil - now);
      await sleep(pauseMs, undefined, delivery.signal ? { signal: delivery.signal } : {});
      const record = await records.pathRecord(orderId, delivery.path);
      if (record?.status === 'processed') return { duplicate: record };
      if (record?.status === 'processing' && (record.lease_until ?? 0) >= Date.now()) {
        leaseUntil = record.lease_until ?? leaseUntil;
        continue;
      }
      break; // failed, dead-lettered, run out, expired or gone: claim again
    }
  }
}

/** orderBodySha256 of a delivered payload; undefined for one that is not a valid order. */
function deliveredBodySha256(payload: unknown): string | undefined {
  const checked = orderSchema.safeParse(payload);
  return checked.success ? orderBodySha256(checked.data) : undefined;
}

/**
 * A delivery of an order already processed on this path. The same order (the same body as the one
 * that took effect): a duplicate, `order.duplicate`. Another order under the same id, which only a
 * receiver task that did not know the first can have answered 202: `order.conflict`, at error
 * level, and counted on the path's record, so that its status shows it; it is never processed
 * (order_id is the idempotency key). Either way the delivery is acknowledged.
 */
async function acknowledgeProcessed(record: PathRecord, orderId: string, message: OrderMessage, delivery: OrderDelivery): Promise<void> {
  const fields = {
    order_id: orderId,
    path: delivery.path,
    request_id: message.requestId,
    message_id: delivery.messageId,
    processed_at: record.processed_at !== undefined ? new Date(record.processed_at).toISOString() : undefined,
    first_request_id: (record.result as { request_id?: unknown } | undefined)?.request_id,
    ...(delivery.attempt !== undefined ? { attempt: delivery.attempt } : {}),
  };
  const bodySha256 = deliveredBodySha256(message.payload);
  // Records completed before the body's hash was kept cannot tell: taken as duplicates.
  if (record.body_sha256 === undefined || bodySha256 === record.body_sha256) {
    delivery.logger.info({ event: 'order.duplicate', ...fields }, 'order already processed on this path: delivery acknowledged, not processed again');
    return;
  }
  delivery.logger.error(
    { event: 'order.conflict', ...fields },
    'another order under an order_id already processed on this path: acknowledged, NOT processed; send a new order_id for a new order',
  );
  const conflict = { message_id: delivery.messageId, request_id: message.requestId, body_sha256: bodySha256 ?? 'invalid' };
  await settleClaim(() => delivery.claims.records.recordConflict(orderId, delivery.path, conflict), fields, delivery);
}

/** The stored result of the first processing, as a duplicate delivery answers it. */
function storedResult(record: PathRecord, orderId: string, path: ProcessingPath): OrderResult {
  return (record.result as unknown as OrderResult | undefined) ?? ({ order_id: orderId, path } as OrderResult);
}

/**
 * The queue-side entry point shared by the ECS processor and the Lambda, one mechanism for both:
 *
 * 1. decode the message; a message that cannot be decoded or has no valid order id has no record
 *    and simply fails (then the DLQ / on-failure destination, as before);
 * 2. claim the order for the path with a lease (`claims.leaseMs`). Already `processed` on this
 *    path: a duplicate delivery, acknowledged without redoing the work and logged once as
 *    `order.duplicate` (or, for a different body under the same id, `order.conflict`, counted on
 *    the record). `held` by another worker's live lease: wait (bounded by
 *    `claims.waitForHolderUntil`) and claim again, else OrderHeldError, which the caller turns into
 *    a later redelivery;
 * 3. validate and do the work, then `complete` with the result and timings: only a completion the
 *    record accepts is logged `order.processed` (the order's one effect). A claim `lost` meanwhile
 *    (its lease ran out and another worker took over) is logged as `order.claim_lost` and not
 *    recorded over the new holder;
 * 4. a failure is recorded (`fail`, or `dead_lettered` when `claims.isFinalAttempt`), logged as
 *    `order.failed` and rethrown, so that SQS redelivery or the Lambda's retries go on. Work
 *    handed back at shutdown releases its claim, so the next delivery claims at once.
 */
export async function handleOrderMessage(decode: () => OrderMessage, delivery: OrderDelivery): Promise<OrderResult> {
  const { records } = delivery.claims;
  let message: OrderMessage | undefined;
  let orderId: string | undefined;
  let claim: Claimed | undefined;
  try {
    message = decode();
    orderId = recordableOrderId(message.payload);
    // Without a valid order id there is nothing to claim: the validation below says why.
    if (orderId === undefined) parseOrder(message.payload);
    else {
      const claimed = await claimOrder(orderId, delivery);
      if ('duplicate' in claimed) {
        await acknowledgeProcessed(claimed.duplicate, orderId, message, delivery);
        return storedResult(claimed.duplicate, orderId, delivery.path);
      }
      claim = claimed;
    }
    const context: OrderContext = {
      ...delivery,
      requestId: message.requestId,
      acceptedAt: message.acceptedAt,
      attempt: delivery.attempt ?? claim?.attempt,
    };
    const order = parseOrder(message.payload);
    const result = await performOrder(order, context);
    if (claim && orderId !== undefined) {
      const outcome = await records.complete(orderId, delivery.path, claim.token, {
        result: { ...result },
        processingMs: result.processing_ms,
        bodySha256: orderBodySha256(order),
      });
      if (outcome === 'lost') {
        delivery.logger.warn(
          {
            event: 'order.claim_lost',
            order_id: orderId,
            path: delivery.path,
            request_id: message.requestId,
            message_id: delivery.messageId,
            claim_attempt: claim.attempt,
            lease_until: new Date(claim.leaseUntil).toISOString(),
          },
          'the claim ran out and another worker took the order over: its outcome is that worker\'s, this one is not recorded',
        );
        return result;
      }
    }
    logProcessed(result, context);
    return result;
  } catch (error) {
    const released = delivery.signal?.aborted === true;
    const held = error instanceof OrderHeldError;
    const attempt = delivery.attempt ?? claim?.attempt;
    const fields = {
      order_id: orderId ?? describeOrderId(message),
      path: delivery.path,
      request_id: message?.requestId ?? delivery.messageId,
      message_id: delivery.messageId,
      ...(attempt !== undefined ? { attempt } : {}),
    };
    if (released) {
      if (claim && orderId !== undefined) {
        const [id, token] = [orderId, claim.token];
        await settleClaim(() => records.release(id, delivery.path, token), fields, delivery);
      }
      delivery.logger.info({ event: 'order.released', ...fields }, 'order handed back unfinished');
    } else if (held) {
      delivery.logger.info(
        { event: 'order.held', ...fields, lease_until: new Date(error.leaseUntil).toISOString(), retry_after_ms: error.retryAfterMs },
        'order being processed by another worker on this path: delivery left for later',
      );
    } else {
      const final = delivery.claims.isFinalAttempt(claim?.attempt);
      const recorded = describeError(error);
      if (orderId !== undefined) {
        const id = orderId;
        if (claim) {
          const token = claim.token;
          await settleClaim(() => records.fail(id, delivery.path, token, recorded, { deadLettered: final }), fields, delivery);
        } else if (final) {
          // No claim of this delivery (the store failed it): the record still says the order ends in the DLQ.
          await settleClaim(() => records.deadLetter(id, delivery.path, recorded), fields, delivery);
        }
      }
      delivery.logger.warn({ event: 'order.failed', ...fields, ...(final ? { final: true } : {}), error: recorded }, 'order failed');
    }
    throw error;
  }
}

function describeOrderId(message: OrderMessage | undefined): string | undefined {
  const orderId = (message?.payload as { order_id?: unknown } | null | undefined)?.order_id;
  return typeof orderId === 'string' ? orderId : undefined;
}

/** A record write after a failure, a release or a conflict: its own failure is logged, never hides the original error or outcome. */
async function settleClaim(write: () => Promise<unknown>, fields: Record<string, unknown>, delivery: OrderDelivery): Promise<void> {
  try {
    const outcome = await write();
    if (outcome === 'lost') {
      delivery.logger.warn({ event: 'order.claim_lost', ...fields }, 'the claim ran out and another worker took the order over: nothing recorded over it');
    }
  } catch (error) {
    delivery.logger.warn({ event: 'order.record_failed', ...fields, error: describeError(error) }, 'cannot record the outcome in the orders table');
  }
}
