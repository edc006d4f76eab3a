import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CallBatcher } from './call-batcher.ts';
import { acceptedKey, expiresAtFor, toItem, type AcceptedRecord } from './order-records.ts';
import { ORDER_RETENTION_DAYS } from './orders-table.ts';

/** DynamoDB's limit on items per BatchWriteItem. */
export const BATCH_WRITE_MAX_ITEMS = 25;

/**
 * How long a write waits for others to share its call, when it is not alone. Nobody waits for it
 * (the receiver has answered already), so it may wait for a full call.
 */
export const DEFAULT_RECORD_LINGER_MS = 20;

/** Write calls in flight at once. */
export const DEFAULT_RECORD_CALLS_IN_FLIGHT = 50;

/**
 * Calls that come back with part of their items unprocessed (DynamoDB's answer to throttling
 * within a batch) are repeated for that part, this many times in all, with backoff.
 */
const UNPROCESSED_ATTEMPTS = 4;
const UNPROCESSED_BACKOFF_MS = 25;

export interface AcceptedRecordsOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** How long a record is kept after it is written (`expires_at`, the table's TTL); the table's when not given. */
  retentionDays?: number;
  /** Each write's deadline, batching and retries included. */
  timeoutMs: number;
  lingerMs?: number;
  maxCallsInFlight?: number;
  now?: () => number;
}

/**
 * The receiver's side of the orders table: it writes the `accepted` records, in BatchWriteItem
 * calls of up to 25 items, since one DynamoDB call costs the receiver about what a PublishBatch
 * does, whatever it carries (lib/call-batcher.ts, preferring full calls: a lone write goes at once,
 * others wait up to `lingerMs` to share a call). BatchWriteItem has no conditions, so each
 * acceptance has a key of its own (`accepted#<message_id>`): a repeat or another body that reached
 * another receiver task adds a record beside the first instead of replacing it.
 */
export class AcceptedRecords {
  readonly #writes: CallBatcher<AcceptedRecord, true>;
  readonly #now: () => number;
  readonly #retentionDays: number;

  constructor({ dynamodb, tableName, retentionDays = ORDER_RETENTION_DAYS, timeoutMs, lingerMs = DEFAULT_RECORD_LINGER_MS, maxCallsInFlight = DEFAULT_RECORD_CALLS_IN_FLIGHT, now = Date.now }: AcceptedRecordsOptions) {
    this.#now = now;
    this.#retentionDays = retentionDays;
    this.#writes = new CallBatcher({
      maxEntries: BATCH_WRITE_MAX_ITEMS,
      lingerMs,
      preferFull: true,
      maxCallsInFlight,
      timeoutMs,
      deadlineError: () => new Error(`the orders table did not take the record within ${timeoutMs} ms`),
      abortError: () => new Error('the receiver reached its drain deadline before the orders table took the record'),
      send: (records, signal) => this.#put(dynamodb, tableName, records, signal),
    });
  }

  /** Writes the record of one acceptance of an order, with its expiry. */
  put(record: Omit<AcceptedRecord, 'expires_at'>, signal?: AbortSignal): Promise<unknown> {
    return this.#writes.submit({ ...record, expires_at: expiresAtFor(this.#now(), this.#retentionDays) }, { signal });
  }

  /** The drain: whatever waits to be batched goes now, and every later write as it comes. */
  flush(): void {
    this.#writes.flush();
  }

  async #put(dynamodb: DynamoDBClient, tableName: string, records: AcceptedRecord[], signal: AbortSignal): Promise<(true | Error)[]> {
    // One key per acceptance (its message id): never two in a batch, never over another acceptance.
    let requests = records.map((record) => ({ PutRequest: { Item: toItem({ ...record, record: acceptedKey(record.message_id) }) } }));
    for (let attempt = 1; requests.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(UNPROCESSED_BACKOFF_MS * 2 ** (attempt - 2), undefined, { signal });
      const output = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }), { abortSignal: signal });
      const unprocessed = output.UnprocessedItems?.[tableName] ?? [];
      requests = unprocessed.flatMap((request) => (request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : []));
      if (requests.length > 0 && attempt >= UNPROCESSED_ATTEMPTS) {
        const left = new Set(requests.map((request) => request.PutRequest.Item.message_id?.S));
        return records.map((record) => (left.has(record.message_id) ? new Error('the orders table left the write unprocessed (throttled)') : true));
      }
    }
    return records.map(() => true);
  }
}
