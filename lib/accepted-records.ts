import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetItemCommand, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CallBatcher } from './call-batcher.ts';
import { ACCEPTED, OrderRecords, toAcceptedRecord, toItem, type AcceptedRecord, type Item } from './order-records.ts';

/** DynamoDB's limits: keys per BatchGetItem, items per BatchWriteItem. */
export const BATCH_GET_MAX_KEYS = 100;
export const BATCH_WRITE_MAX_ITEMS = 25;

/** How long a lookup or a write waits to be batched while other calls are in flight. */
export const DEFAULT_RECORD_LINGER_MS = 5;

/** Calls of each kind in flight at once. */
export const DEFAULT_RECORD_CALLS_IN_FLIGHT = 50;

/**
 * Calls that come back with part of their keys or items unprocessed (DynamoDB's answer to
 * throttling within a batch) are repeated for that part, this many times in all, with backoff.
 */
const UNPROCESSED_ATTEMPTS = 4;
const UNPROCESSED_BACKOFF_MS = 25;

export interface AcceptedRecordsOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Epoch seconds of `expires_at` for a record written now, and whether one has passed. */
  retentionDays: number;
  /** Each lookup's and each write's deadline, batching and retries included. */
  timeoutMs: number;
  lingerMs?: number;
  maxCallsInFlight?: number;
  now?: () => number;
}

/**
 * The receiver's side of the orders table: it reads and writes only the `accepted` records, and
 * batches both, since one DynamoDB call costs the receiver about what a PublishBatch does,
 * whatever it carries. Lookups go in consistent BatchGetItem calls of up to 100 keys, writes in
 * BatchWriteItem calls of up to 25 items (lib/call-batcher.ts: a lone request goes at once).
 *
 * BatchWriteItem has no conditions, so two receivers that take the same new order at the same
 * moment both publish it and the last write's record stays; the processors' claims still give it
 * one effect per path. What this saves is the common case: a client's retry, found and answered
 * as the first time, and a different order under a used id, refused.
 */
export class AcceptedRecords {
  readonly #lookups: CallBatcher<string, AcceptedRecord | null>;
  readonly #writes: CallBatcher<AcceptedRecord, true>;
  readonly #now: () => number;
  readonly #retentionSeconds: number;

  constructor({ dynamodb, tableName, retentionDays, timeoutMs, lingerMs = DEFAULT_RECORD_LINGER_MS, maxCallsInFlight = DEFAULT_RECORD_CALLS_IN_FLIGHT, now = Date.now }: AcceptedRecordsOptions) {
    this.#now = now;
    this.#retentionSeconds = Math.round(retentionDays * 86_400);
    const common = {
      lingerMs,
      maxCallsInFlight,
      timeoutMs,
      deadlineError: () => new Error(`the orders table did not answer within ${timeoutMs} ms`),
      abortError: () => new Error('the receiver reached its drain deadline before the orders table answered'),
    };
    this.#lookups = new CallBatcher({
      ...common,
      maxEntries: BATCH_GET_MAX_KEYS,
      send: (orderIds, signal) => this.#get(dynamodb, tableName, orderIds, signal),
    });
    this.#writes = new CallBatcher({
      ...common,
      maxEntries: BATCH_WRITE_MAX_ITEMS,
      send: (records, signal) => this.#put(dynamodb, tableName, records, signal),
    });
  }

  /** The order's live accepted record, or undefined (never accepted, or past its retention). */
  async find(orderId: string, signal?: AbortSignal): Promise<AcceptedRecord | undefined> {
    return (await this.#lookups.submit(orderId, { signal })) ?? undefined;
  }

  /** Writes the order's accepted record (replacing any), with its expiry. */
  async put(record: Omit<AcceptedRecord, 'expires_at'>, signal?: AbortSignal): Promise<void> {
    const expiresAt = Math.floor(this.#now() / 1000) + this.#retentionSeconds;
    await this.#writes.submit({ ...record, expires_at: expiresAt }, { signal });
  }

  /** The drain: whatever waits to be batched goes now, and every later request as it comes. */
  flush(): void {
    this.#lookups.flush();
    this.#writes.flush();
  }

  async #get(dynamodb: DynamoDBClient, tableName: string, orderIds: string[], signal: AbortSignal): Promise<(AcceptedRecord | null | Error)[]> {
    // DynamoDB refuses a batch that names one key twice.
    const found = new Map<string, AcceptedRecord>();
    let keys: Item[] = [...new Set(orderIds)].map((orderId) => toItem({ order_id: orderId, record: ACCEPTED }));
    for (let attempt = 1; keys.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(UNPROCESSED_BACKOFF_MS * 2 ** (attempt - 2), undefined, { signal });
      const output = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
        { abortSignal: signal },
      );
      for (const item of output.Responses?.[tableName] ?? []) {
        const record = toAcceptedRecord(item);
        if (!OrderRecords.isExpired(record.expires_at, this.#now())) found.set(record.order_id, record);
      }
      keys = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (keys.length > 0 && attempt >= UNPROCESSED_ATTEMPTS) {
        const left = new Set(keys.map((key) => key.order_id?.S));
        return orderIds.map((orderId) => (left.has(orderId) ? new Error('the orders table left the lookup unprocessed (throttled)') : (found.get(orderId) ?? null)));
      }
    }
    return orderIds.map((orderId) => found.get(orderId) ?? null);
  }

  async #put(dynamodb: DynamoDBClient, tableName: string, records: AcceptedRecord[], signal: AbortSignal): Promise<(true | Error)[]> {
    // DynamoDB refuses a batch that writes one key twice: the last record of an order is written.
    const latest = new Map(records.map((record) => [record.order_id, record]));
    let requests = [...latest.values()].map((record) => ({ PutRequest: { Item: toItem({ ...record, record: ACCEPTED }) } }));
    for (let attempt = 1; requests.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(UNPROCESSED_BACKOFF_MS * 2 ** (attempt - 2), undefined, { signal });
      const output = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }), { abortSignal: signal });
      const unprocessed = output.UnprocessedItems?.[tableName] ?? [];
      requests = unprocessed.flatMap((request) => (request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : []));
      if (requests.length > 0 && attempt >= UNPROCESSED_ATTEMPTS) {
        const left = new Set(requests.map((request) => request.PutRequest.Item.order_id?.S));
        return records.map((record) => (left.has(record.order_id) ? new Error('the orders table left the write unprocessed (throttled)') : true));
      }
    }
    return records.map(() => true);
  }
}
