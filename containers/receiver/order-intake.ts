import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AcceptedRecords, DEFAULT_RECORD_CALLS_IN_FLIGHT } from '../../lib/accepted-records.ts';
import { createDynamoDbClient, createSnsClient } from '../../lib/aws-clients.ts';
import type { AwsConfig } from '../../lib/config.ts';
import { describeError, OrdersyncError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { OrderRecords, orderBodySha256, type OrderStatus } from '../../lib/order-records.ts';
import type { Order } from '../../lib/order-schema.ts';
import { DEFAULT_PUBLISH_TIMEOUT_MS, SNS_CLIENT_OPTIONS, SnsOrderPublisher, type OrderPublisher } from './order-publisher.ts';

/** What the receiver answers 202 with: the order's message id, its first acceptance. */
export interface Acceptance {
  messageId: string;
  /** When the order was first accepted (epoch ms). */
  acceptedAt: number;
  /** False for the request that published the order; true for a repeat answered as the first time. */
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

/** How long, and how many, orders a receiver remembers having accepted (RecentAcceptances). */
export const RECENT_ACCEPTANCES = { ttlMs: 10 * 60_000, maxEntries: 100_000 } as const;

/**
 * How long a status read that finds nothing waits before it reads again and answers 404: the
 * accepted record of an order another receiver task has just answered 202 may still be on its way
 * (its write lingers up to DEFAULT_RECORD_LINGER_MS for a fuller batch, then takes a call).
 */
export const RECORD_WINDOW_MS = 250;

interface Remembered extends Acceptance {
  bodySha256: string;
  requestId: string;
  /** Until then (epoch ms) the entry answers repeats; it is forgotten afterwards. */
  until: number;
}

/**
 * The orders this receiver accepted in the last ten minutes (at most 100,000, oldest forgotten
 * first): a repeat that reaches the same receiver is answered as the first time, another body
 * under the same id is refused, without a read of the table. Another receiver task does not know
 * them; there a repeat is published again and the processors acknowledge it as a duplicate.
 */
class RecentAcceptances {
  readonly #entries = new Map<string, Remembered>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get(orderId: string): Remembered | undefined {
    const entry = this.#entries.get(orderId);
    if (entry && entry.until < this.#now()) {
      this.#entries.delete(orderId);
      return undefined;
    }
    return entry;
  }

  /** Remembers an acceptance until `RECENT_ACCEPTANCES.ttlMs` from now. */
  remember(orderId: string, acceptance: Omit<Remembered, 'until'>): void {
    const entry = acceptance as Remembered;
    entry.until = this.#now() + RECENT_ACCEPTANCES.ttlMs;
    this.#entries.delete(orderId);
    this.#entries.set(orderId, entry);
    // A Map keeps insertion order: the first key is the oldest.
    while (this.#entries.size > RECENT_ACCEPTANCES.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
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
 * How it takes an order (issue 12; `order_id` is the idempotency key):
 *
 * 1. Requests for the same order_id under way in this process at once are one acceptance: the
 *    first does the work, the others get its answer (another body: 409).
 * 2. An order this receiver accepted in the last ten minutes is answered as the first time, with
 *    the first message id, and not published again; another body under its id is 409.
 * 3. Otherwise the order is published (batched, lib/call-batcher.ts); once SNS has confirmed it,
 *    202. Its accepted record is written after the answer, off the request's path, in batches of
 *    up to 25 (what a write costs the receiver is per call); until it is in the table, a status
 *    read here answers from memory, and one elsewhere waits RECORD_WINDOW_MS for it.
 *
 * A failed publish is a 503 meaning "not confirmed": the order may in fact be queued (a publish
 * that reached SNS before its connection dropped), and the client's retry publishes it again; the
 * processors' claims give the order one effect per path all the same. A failed record write is
 * logged (`order.record_failed`); the order is queued, and its path records will show it.
 */
export class OrderIntake {
  readonly #publisher: OrderPublisher;
  readonly #records: AcceptedRecords;
  readonly #orderRecords: OrderRecords;
  readonly #logger: Logger | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #recent: RecentAcceptances;
  /** Record writes under way, and the drain's waits for them to end. */
  #writesUnderWay = 0;
  #writesEnded: (() => void)[] = [];

  /**
   * The intake over `publisher` and the orders table `tableName` (its accepted-record writes and
   * its status reads share `dynamodb`); `timeoutMs` bounds each record write, as PUBLISH_TIMEOUT_MS
   * bounds each publish.
   */
  constructor({
    publisher,
    dynamodb,
    tableName,
    timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS,
    logger,
    now = Date.now,
  }: {
    publisher: OrderPublisher;
    dynamodb: DynamoDBClient;
    tableName: string;
    timeoutMs?: number;
    /** Where a failed record write is logged. */
    logger?: Logger | undefined;
    now?: () => number;
  }) {
    this.#publisher = publisher;
    this.#records = new AcceptedRecords({ dynamodb, tableName, timeoutMs, now });
    this.#orderRecords = new OrderRecords({ dynamodb, tableName, now });
    this.#logger = logger;
    this.#recent = new RecentAcceptances(now);
  }

  accept(order: Order, meta: AcceptMeta): Promise<Acceptance> {
    const bodySha256 = orderBodySha256(order);
    const pending = this.#pending.get(order.order_id);
    if (pending) {
      if (pending.bodySha256 !== bodySha256) return Promise.reject(new OrderConflictError(order.order_id));
      return pending.acceptance.then((acceptance) => ({ ...acceptance, repeated: true }));
    }
    const recent = this.#recent.get(order.order_id);
    if (recent) {
      if (recent.bodySha256 !== bodySha256) return Promise.reject(new OrderConflictError(order.order_id));
      return Promise.resolve({ messageId: recent.messageId, acceptedAt: recent.acceptedAt, repeated: true });
    }
    const acceptance = this.#accept(order, bodySha256, meta);
    this.#pending.set(order.order_id, { bodySha256, acceptance });
    return acceptance;
  }

  /**
   * Every live record of the order (one consistent query), completed from this receiver's memory
   * while its accepted record is still on its way; undefined when it was never accepted (or its
   * records expired), after waiting RECORD_WINDOW_MS for a record another receiver may be writing.
   */
  async status(orderId: string): Promise<OrderStatus | undefined> {
    let status = await this.#orderRecords.status(orderId);
    if (status?.accepted) return status;
    const recent = this.#recent.get(orderId);
    if (recent) {
      return {
        order_id: orderId,
        paths: status?.paths ?? {},
        accepted: { order_id: orderId, body_sha256: recent.bodySha256, request_id: recent.requestId, accepted_at: recent.acceptedAt, message_id: recent.messageId, expires_at: 0 },
      };
    }
    if (status) return status;
    await sleep(RECORD_WINDOW_MS);
    status = await this.#orderRecords.status(orderId);
    return status;
  }

  /**
   * The receiver's drain: batched publishes and record writes go at once; resolves once every
   * record write under way has ended (each bounded by its deadline and the drain signal).
   */
  async flush(): Promise<void> {
    this.#publisher.flush?.();
    this.#records.flush();
    if (this.#writesUnderWay > 0) await new Promise<void>((resolve) => this.#writesEnded.push(resolve));
  }

  #writeEnded = (): void => {
    this.#writesUnderWay -= 1;
    if (this.#writesUnderWay > 0) return;
    const waiting = this.#writesEnded;
    this.#writesEnded = [];
    for (const resolve of waiting) resolve();
  };

  async #accept(order: Order, bodySha256: string, { requestId, acceptedAt, signal }: AcceptMeta): Promise<Acceptance> {
    let messageId: string;
    try {
      messageId = await this.#publisher.publish(order, { requestId, acceptedAt, signal });
    } finally {
      this.#pending.delete(order.order_id);
    }
    this.#recent.remember(order.order_id, { bodySha256, requestId, acceptedAt, messageId, repeated: false });
    this.#writesUnderWay += 1;
    this.#records.put({ order_id: order.order_id, body_sha256: bodySha256, request_id: requestId, accepted_at: acceptedAt, message_id: messageId }, signal).then(this.#writeEnded, (error: unknown) => {
      this.#logger?.warn(
        { event: 'order.record_failed', order_id: order.order_id, request_id: requestId, message_id: messageId, error: describeError(error) },
        'the order is queued, but its accepted record was not written; its path records will show it',
      );
      this.#writeEnded();
    });
    return { messageId, acceptedAt, repeated: false };
  }
}

export interface OrderIntakeSettings {
  aws: AwsConfig;
  topicArn: string;
  ordersTableName: string;
  /** Each publish's and each record write's deadline (PUBLISH_TIMEOUT_MS). */
  timeoutMs?: number;
  logger?: Logger | undefined;
}

/** The receiver's batching SNS publisher, on a client whose socket pool matches its calls in flight. */
export function createReceiverPublisher({ aws, topicArn, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS, logger }: Omit<OrderIntakeSettings, 'ordersTableName'>): SnsOrderPublisher {
  return new SnsOrderPublisher(createSnsClient(aws, SNS_CLIENT_OPTIONS), topicArn, { timeoutMs, maxCallsInFlight: SNS_CLIENT_OPTIONS.maxSockets, logger });
}

/**
 * The receiver's intake as containers/receiver/main.ts runs it (the local stack and the benchmark
 * use the same): the batching SNS publisher, and the orders table through a DynamoDB client whose
 * socket pool matches its calls in flight.
 */
export function createOrderIntake({ aws, topicArn, ordersTableName, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS, logger }: OrderIntakeSettings): OrderIntake {
  // One socket per record write in flight, and as many for the status reads.
  const dynamodb = createDynamoDbClient(aws, { ...SNS_CLIENT_OPTIONS, maxSockets: 2 * DEFAULT_RECORD_CALLS_IN_FLIGHT });
  return new OrderIntake({
    publisher: createReceiverPublisher({ aws, topicArn, timeoutMs, logger }),
    dynamodb,
    tableName: ordersTableName,
    timeoutMs,
    logger,
  });
}
