import { AcceptedRecords, DEFAULT_RECORD_CALLS_IN_FLIGHT } from '../../lib/accepted-records.ts';
import { createDynamoDbClient, createSnsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { OrdersyncError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { OrderRecords, orderBodySha256, type OrderStatus } from '../../lib/order-records.ts';
import type { Order } from '../../lib/order-schema.ts';
import { ORDER_RETENTION_DAYS } from '../../lib/orders-table.ts';
import { DEFAULT_PUBLISH_TIMEOUT_MS, SNS_CLIENT_OPTIONS, SnsOrderPublisher, type OrderPublisher } from './order-publisher.ts';

/** What the receiver answers 202 with: the order's message id, its first acceptance. */
export interface Acceptance {
  messageId: string;
  /** When the order was first accepted (epoch ms). */
  acceptedAt: number;
  /** False for the request that published the order; true for a repeat answered from its record. */
  repeated: boolean;
}

export interface AcceptMeta {
  requestId: string;
  acceptedAt: number;
  /** The receiver's drain deadline: what is not done by then fails (503), unconfirmed. */
  signal?: AbortSignal | undefined;
}

/** The same order_id was accepted with a different body: answered 409, nothing published. */
export class OrderConflictError extends OrdersyncError {
  readonly orderId: string;
  constructor(orderId: string) {
    super('order_conflict', `order ${orderId} was already accepted with a different body; send a new order_id for a new order`);
    this.orderId = orderId;
  }
}

/** A step after which the order may or may not be queued failed: answered 503, the client retries. */
export class AcceptanceUnconfirmedError extends OrdersyncError {
  readonly orderId: string;
  readonly step: 'lookup' | 'publish' | 'record';
  constructor(orderId: string, step: 'lookup' | 'publish' | 'record', cause: unknown) {
    super('accept_unconfirmed', `order ${orderId} not confirmed: the ${step} failed`, { cause });
    this.orderId = orderId;
    this.step = step;
  }
}

interface Pending {
  bodySha256: string;
  acceptance: Promise<Acceptance>;
}

/**
 * The receiver's business with orders beyond HTTP: it takes them on the async path, and tells
 * where one stands (GET /orders/{order_id}), from the orders table.
 *
 * How it takes an order, so that a client's retries never make a second order (issue 12):
 * `order_id` is the idempotency key.
 *
 * 1. Requests for the same order_id under way in this process at once are one acceptance: the
 *    first does the work, the others get its answer (a different body: 409).
 * 2. The order's accepted record is looked up (batched, consistent): found with the same body, the
 *    request is answered as the first time, with the first message id, and nothing is published;
 *    with another body, 409.
 * 3. Otherwise the order is published (batched), then its accepted record written (batched) with
 *    the message id; only then 202, so a status read right after finds it.
 *
 * Any failure is a 503 meaning "not confirmed": the order may in fact be queued (a publish that
 * reached SNS before its connection dropped, or a record write that failed after the publish), and
 * the client's retry either finds the record or publishes again; either way the processors' claims
 * give the order one effect per path.
 */
export class OrderIntake {
  readonly #publisher: OrderPublisher;
  readonly #records: AcceptedRecords;
  readonly #orderRecords: OrderRecords;
  readonly #pending = new Map<string, Pending>();

  constructor({ publisher, accepted, records }: { publisher: OrderPublisher; accepted: AcceptedRecords; records: OrderRecords }) {
    this.#publisher = publisher;
    this.#records = accepted;
    this.#orderRecords = records;
  }

  /** Every live record of the order (one consistent query), or undefined: never accepted, or expired. */
  status(orderId: string): Promise<OrderStatus | undefined> {
    return this.#orderRecords.status(orderId);
  }

  accept(order: Order, meta: AcceptMeta): Promise<Acceptance> {
    const bodySha256 = orderBodySha256(order);
    const pending = this.#pending.get(order.order_id);
    if (pending) {
      if (pending.bodySha256 !== bodySha256) return Promise.reject(new OrderConflictError(order.order_id));
      return pending.acceptance.then((acceptance) => ({ ...acceptance, repeated: true }));
    }
    const acceptance = this.#accept(order, bodySha256, meta).finally(() => this.#pending.delete(order.order_id));
    this.#pending.set(order.order_id, { bodySha256, acceptance });
    return acceptance;
  }

  /** The receiver's drain: batched lookups, publishes and writes go at once. */
  flush(): void {
    this.#publisher.flush?.();
    this.#records.flush();
  }

  async #accept(order: Order, bodySha256: string, { requestId, acceptedAt, signal }: AcceptMeta): Promise<Acceptance> {
    const found = await this.#records.find(order.order_id, signal).catch((error: unknown) => {
      throw new AcceptanceUnconfirmedError(order.order_id, 'lookup', error);
    });
    if (found) {
      if (found.body_sha256 !== bodySha256) throw new OrderConflictError(order.order_id);
      if (found.message_id !== undefined) return { messageId: found.message_id, acceptedAt: found.accepted_at, repeated: true };
    }
    const messageId = await this.#publisher.publish(order, { requestId, acceptedAt, signal }).catch((error: unknown) => {
      throw new AcceptanceUnconfirmedError(order.order_id, 'publish', error);
    });
    await this.#records
      .put({ order_id: order.order_id, body_sha256: bodySha256, request_id: requestId, accepted_at: acceptedAt, message_id: messageId }, signal)
      .catch((error: unknown) => {
        throw new AcceptanceUnconfirmedError(order.order_id, 'record', error);
      });
    return { messageId, acceptedAt, repeated: false };
  }
}

export interface OrderIntakeSettings {
  aws: AwsConfig;
  topicArn: string;
  ordersTableName: string;
  /** Each step's deadline: the publish, and the table's lookup and write (PUBLISH_TIMEOUT_MS). */
  timeoutMs?: number;
  logger?: Logger | undefined;
}

/**
 * The receiver's intake as containers/receiver/main.ts runs it (the local stack and the benchmark
 * use the same): the batching SNS publisher, and the orders table through a DynamoDB client whose
 * socket pool matches its calls in flight.
 */
export function createOrderIntake({ aws, topicArn, ordersTableName, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS, logger }: OrderIntakeSettings): OrderIntake {
  // Lookups and writes each keep up to DEFAULT_RECORD_CALLS_IN_FLIGHT calls in flight.
  const dynamodb = createDynamoDbClient(aws, { ...SNS_CLIENT_OPTIONS, maxSockets: 2 * DEFAULT_RECORD_CALLS_IN_FLIGHT });
  return new OrderIntake({
    publisher: new SnsOrderPublisher(createSnsClient(aws, SNS_CLIENT_OPTIONS), topicArn, { timeoutMs, maxCallsInFlight: SNS_CLIENT_OPTIONS.maxSockets, logger }),
    accepted: new AcceptedRecords({ dynamodb, tableName: ordersTableName, retentionDays: ORDER_RETENTION_DAYS, timeoutMs }),
    records: new OrderRecords({ dynamodb, tableName: ordersTableName, retentionDays: ORDER_RETENTION_DAYS }),
  });
}
