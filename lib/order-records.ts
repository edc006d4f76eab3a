import { hash, randomUUID } from 'node:crypto';
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { messagingSettings } from './messaging-settings.ts';
import type { Order } from './order-schema.ts';
import { ORDER_RETENTION_DAYS } from './orders-table.ts';

/**
 * The order store (issue 12): one DynamoDB table, partition key `order_id`, sort key `record`.
 * `record = "accepted#<message_id>"` is a receiver's record of one acceptance of the order (one per
 * 202 that published it: a repeat or another body sent to another receiver task adds its own, and
 * never replaces the first); `record = "path#ecs"` and `"path#lambda"` are each processing path's
 * claim, outcome and timings. `order_id` is the
 * idempotency key, per path: in `both` mode each path processes every order by design.
 *
 * Every write is one conditional request; a ConditionalCheckFailed is an answer (duplicate, held,
 * lost), any other error propagates so that the caller's retry machinery (the client's retry, SQS
 * redelivery, the Lambda's async retries) decides.
 *
 * A record whose `expires_at` has passed counts as absent everywhere (resources/orders-table.json):
 * DynamoDB's TTL deletes it only some time later, and dynalite never does, so the store does not
 * depend on when the sweep runs.
 */

/** The paths that process a queued order, each with its own record. */
export type ProcessingPath = 'ecs' | 'lambda';
export const PROCESSING_PATHS: readonly ProcessingPath[] = ['ecs', 'lambda'];

export type PathStatus = 'processing' | 'processed' | 'failed' | 'dead_lettered';

/**
 * Deliveries of one order a path gets before it gives up (resources/messaging.json, as
 * serverless.yml deploys it): SQS moves a message to the DLQ after `maxReceiveCount` receives; Lambda
 * sends an event to the on-failure destination after its asynchronous retries.
 */
export const DELIVERIES_PER_PATH: Readonly<Record<ProcessingPath, number>> = {
  ecs: messagingSettings.ordersDeadLetterQueue.maxReceiveCount,
  lambda: messagingSettings.lambda.maximumRetryAttempts + 1,
};

export interface RecordedError {
  code: string;
  message: string;
}

/** A receiver's record of one acceptance of an order (`record = "accepted#<message_id>"`). Times in epoch ms, expiry in epoch s. */
export interface AcceptedRecord {
  order_id: string;
  /** orderBodySha256 of the order: a retry with the same order matches, another does not. */
  body_sha256: string;
  request_id: string;
  accepted_at: number;
  /** The topic's MessageId: the record is written once the publish is confirmed. */
  message_id: string;
  /** Epoch seconds: DynamoDB's TTL deletes the record some time after. */
  expires_at: number;
}

/** One path's record of an order (`record = "path#<path>"`). Times in epoch ms, expiry in epoch s. */
export interface PathRecord {
  order_id: string;
  path: ProcessingPath;
  status: PathStatus;
  /** The current (or last) claim's token: only its holder may extend, complete or fail it. */
  claim_token?: string;
  /** While `processing`: the claim is the holder's until then; afterwards a redelivery may take it. */
  lease_until?: number;
  /** Claims made, including the current one. */
  attempts: number;
  first_claimed_at?: number;
  /** When the current (or last) claim was made. */
  claimed_at?: number;
  processed_at?: number;
  processing_ms?: number;
  result?: Record<string, unknown>;
  /** The last failed attempt's error; kept after a later success, so the history shows. */
  last_error?: RecordedError;
  failed_at?: number;
  dead_lettered_at?: number;
  /** orderBodySha256 of the order that took effect (written with the result). */
  body_sha256?: string;
  /**
   * Deliveries of a different order under this order_id after it took effect on this path (another
   * receiver task answered it 202, not knowing the first): acknowledged, never processed.
   */
  conflicts?: number;
  last_conflict?: RecordedConflict;
  expires_at: number;
}

/** A delivery of another order under an order_id already processed on the path. */
export interface RecordedConflict {
  message_id: string;
  request_id: string;
  body_sha256: string;
  at: number;
}

export interface OrderStatus {
  order_id: string;
  /**
   * The order's acceptance: of its accepted records, the first (by accepted_at) of the body that
   * took effect on a path, or, before any did, the first of all. Absent when only path records
   * exist: the accepted record expired first (it is written first), or the order was published by
   * a receiver that kept no record (a 503 whose publish in fact reached the topic).
   */
  accepted?: AcceptedRecord;
  /**
   * Acceptances of other bodies under the same order_id (another receiver task, not knowing the
   * first, answered them 202), first first: the processors refuse them (`order.conflict`).
   */
  conflictingAcceptances?: AcceptedRecord[];
  paths: Partial<Record<ProcessingPath, PathRecord>>;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; attempt: number; token: string; leaseUntil: number }
  /** Already processed on this path: a duplicate delivery, to acknowledge without redoing the work. */
  | { outcome: 'processed'; record: PathRecord }
  /** Another worker holds a live lease: leave the delivery to it (or to a later redelivery). */
  | { outcome: 'held'; leaseUntil: number; record: PathRecord };

export interface OrderRecordsOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /**
   * How long every record is kept after its last write (DynamoDB TTL on `expires_at`); the table's
   * (ORDER_RETENTION_DAYS, resources/orders-table.json) when not given.
   */
  retentionDays?: number;
  /** Epoch milliseconds; injectable so tests can move past a lease without waiting. */
  now?: () => number;
}

/** Epoch seconds at which a record written at `nowMs` expires, kept `retentionDays` (`expires_at`, the table's TTL). */
export function expiresAtFor(nowMs: number, retentionDays: number): number {
  return Math.floor(nowMs / 1000) + Math.round(retentionDays * 86_400);
}

/**
 * The sort key of a receiver's record of an order: `accepted#<message_id>`, one per acceptance. A
 * bare `accepted` is the one record per order of a receiver from before, read the same way.
 */
export const ACCEPTED = 'accepted';
export const acceptedKey = (messageId: string) => `${ACCEPTED}#${messageId}`;
const isAcceptedKey = (record: string | undefined) => record === ACCEPTED || record?.startsWith(`${ACCEPTED}#`) === true;
const pathKey = (path: ProcessingPath) => `path#${path}`;

/** A claim that cannot be settled after this many conditional attempts is a bug, not a race. */
const MAX_CLAIM_ROUNDS = 3;

/**
 * Hex SHA-256 of the validated order's JSON: the `body_sha256` of its accepted record. parseOrder
 * rebuilds every object in the schema's key order (unknown fields are refused) and JSON writes
 * numbers the shortest way, so the same order sent with its fields in another order, other
 * whitespace or `19.990` for `19.99` hashes the same; any other difference does not.
 */
export function orderBodySha256(order: Order): string {
  return hash('sha256', JSON.stringify(order), 'hex');
}

// ---------------------------------------------------------------------------------------------
// Attribute values, by hand: @aws-sdk/util-dynamodb is not among the project's dependencies, and
// the store writes only strings, numbers, booleans, null, lists and maps.

export type Item = Record<string, AttributeValue>;

function toAttribute(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot store the number ${value}`);
      return { N: String(value) };
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (Array.isArray(value)) return { L: value.map((item) => toAttribute(item ?? null)) };
      return { M: toItem(value as Record<string, unknown>) };
    default:
      throw new TypeError(`cannot store a value of type ${typeof value}`);
  }
}

export function toItem(values: Record<string, unknown>): Item {
  const item: Item = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) item[key] = toAttribute(value);
  return item;
}

function fromAttribute(attribute: AttributeValue): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.L !== undefined) return attribute.L.map(fromAttribute);
  if (attribute.M !== undefined) return fromItem(attribute.M);
  throw new TypeError(`unexpected attribute type ${Object.keys(attribute).join(',')}`);
}

function fromItem(item: Item): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, attribute] of Object.entries(item)) values[key] = fromAttribute(attribute);
  return values;
}

/**
 * A path record as it stands at `now`. A claim is the last of the path's deliveries once its
 * attempts reach DELIVERIES_PER_PATH; when its lease has run out without an outcome, its worker
 * stopped (killed, crashed, timed out) and no delivery will come again: the message is in the DLQ
 * or the on-failure destination, and the record reads `dead_lettered` from the end of that lease,
 * with `last_error.code` `lease_expired`, though nobody wrote it. Every delivery claims before
 * working, so attempts count deliveries; one that failed before its claim (the table down) is not
 * counted, and such a record keeps reading `processing`, never `dead_lettered` too early.
 */
function asOf(record: PathRecord, now: number): PathRecord {
  const leaseUntil = record.lease_until;
  if (record.status !== 'processing' || leaseUntil === undefined || leaseUntil >= now || record.attempts < DELIVERIES_PER_PATH[record.path]) return record;
  return {
    ...record,
    status: 'dead_lettered',
    dead_lettered_at: leaseUntil,
    last_error: {
      code: 'lease_expired',
      message: `the claim of the last allowed delivery (${record.attempts}) ran out without an outcome: its worker stopped (killed, crashed or timed out); the order is in the dead-letter queue or the on-failure destination`,
    },
  };
}

/**
 * The status with its acceptance chosen among the order's accepted records: the first of the body
 * that took effect on a path (the hash its completion wrote), else the first of all; those of
 * other bodies are its conflicting acceptances. Repeats of the chosen body are not listed.
 */
function withAcceptance(status: OrderStatus, acceptances: AcceptedRecord[]): OrderStatus {
  if (acceptances.length === 0) return status;
  acceptances.sort((a, b) => a.accepted_at - b.accepted_at);
  const tookEffect = PROCESSING_PATHS.map((path) => status.paths[path]?.body_sha256).find((sha) => sha !== undefined);
  const accepted = acceptances.find((record) => record.body_sha256 === tookEffect) ?? (acceptances[0] as AcceptedRecord);
  const conflicting = acceptances.filter((record) => record.body_sha256 !== accepted.body_sha256);
  return { ...status, accepted, ...(conflicting.length > 0 ? { conflictingAcceptances: conflicting } : {}) };
}

export function toAcceptedRecord(item: Item): AcceptedRecord {
  const { record: _record, ...rest } = fromItem(item);
  return rest as unknown as AcceptedRecord;
}

function toPathRecord(item: Item): PathRecord {
  const { record, ...rest } = fromItem(item);
  const path = String(record).slice('path#'.length) as ProcessingPath;
  return { ...rest, path, attempts: Number(rest.attempts ?? 0) } as unknown as PathRecord;
}

function isConditionalCheckFailed(error: unknown): error is Error & { Item?: Item } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function assertPath(path: ProcessingPath): void {
  if (!PROCESSING_PATHS.includes(path)) throw new TypeError(`unknown processing path ${String(path)}`);
}

// ---------------------------------------------------------------------------------------------

export class OrderRecords {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;
  readonly #retentionDays: number;
  readonly #now: () => number;

  constructor({ dynamodb, tableName, retentionDays = ORDER_RETENTION_DAYS, now = Date.now }: OrderRecordsOptions) {
    if (!tableName) throw new TypeError('tableName is required');
    if (!Number.isFinite(retentionDays) || retentionDays <= 0) {
      throw new TypeError(`retentionDays must be a positive number, got ${retentionDays}`);
    }
    this.#dynamodb = dynamodb;
    this.#tableName = tableName;
    this.#retentionDays = retentionDays;
    this.#now = now;
  }

  /** Epoch seconds at which a record written at `nowMs` expires. */
  expiresAt(nowMs: number): number {
    return expiresAtFor(nowMs, this.#retentionDays);
  }

  /** Whether a record with this `expires_at` counts as absent at `nowMs`. */
  static isExpired(expiresAt: number | undefined, nowMs: number): boolean {
    return expiresAt !== undefined && expiresAt < Math.floor(nowMs / 1000);
  }

  /**
   * Claims the order for one path before working on it: one conditional update that succeeds when
   * the path has no record, its last attempt failed or was dead-lettered, or its holder's lease has
   * run out (a crashed worker). Otherwise the stored record, returned by the failed condition, tells
   * a duplicate (`processed`) from a live claim (`held`).
   */
  async claim(
    orderId: string,
    path: ProcessingPath,
    { leaseMs, token = randomUUID() }: { leaseMs: number; token?: string },
  ): Promise<ClaimOutcome> {
    assertPath(path);
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new TypeError(`leaseMs must be positive, got ${leaseMs}`);
    for (let round = 1; ; round++) {
      const now = this.#now();
      const leaseUntil = now + leaseMs;
      try {
        const output = await this.#dynamodb.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: toItem({ order_id: orderId, record: pathKey(path) }),
            UpdateExpression:
              'SET #status = :processing, claim_token = :token, lease_until = :lease_until, claimed_at = :now, ' +
              'attempts = if_not_exists(attempts, :zero) + :one, first_claimed_at = if_not_exists(first_claimed_at, :now), ' +
              'expires_at = :expires_at',
            // AND binds tighter than OR (DynamoDB's precedence): absent, or live and (failed or
            // dead-lettered, or processing under a lease run out). Written with the fewest
            // parentheses because dynalite's parser takes ~2.5 ms more per nested pair.
            ConditionExpression:
              'attribute_not_exists(order_id) OR expires_at >= :now_s AND ' +
              '(#status IN (:failed, :dead_lettered) OR #status = :processing AND lease_until < :now)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: toItem({
              ':processing': 'processing',
              ':failed': 'failed',
              ':dead_lettered': 'dead_lettered',
              ':token': token,
              ':lease_until': leaseUntil,
              ':now': now,
              ':now_s': Math.floor(now / 1000),
              ':zero': 0,
              ':one': 1,
              ':expires_at': this.expiresAt(now),
            }),
            ReturnValues: 'UPDATED_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const attempt = Number(output.Attributes?.attempts?.N);
        if (!Number.isInteger(attempt)) throw new Error(`claim of ${orderId} on ${path} returned no attempt count`);
        return { outcome: 'claimed', attempt, token, leaseUntil };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // AWS returns the item the condition failed on; an emulator that does not gets one read.
        const item = error.Item ?? (await this.#get(orderId, pathKey(path)));
        if (item && OrderRecords.isExpired(Number(item.expires_at?.N), now)) {
          const replaced = await this.#replaceExpiredClaim(orderId, path, token, now, leaseUntil);
          if (replaced) return replaced;
        } else if (item) {
          const record = toPathRecord(item);
          if (record.status === 'processed') return { outcome: 'processed', record };
          if (record.status === 'processing' && (record.lease_until ?? 0) >= now) {
            return { outcome: 'held', leaseUntil: record.lease_until ?? now, record };
          }
        }
        // Only a read made after the failed condition can see a claimable record (its holder
        // failed in between), or another claim replaced the expired record first: claim again.
        if (round >= MAX_CLAIM_ROUNDS) throw new Error(`claim of ${orderId} on ${path} did not settle`, { cause: error });
      }
    }
  }

  /** Moves the holder's lease to now + leaseMs, for work that runs longer than the first lease. */
  async extendLease(orderId: string, path: ProcessingPath, token: string, leaseMs: number): Promise<'extended' | 'lost'> {
    assertPath(path);
    const leaseUntil = this.#now() + leaseMs;
    return this.#updateHeld(orderId, path, 'extended', {
      UpdateExpression: 'SET lease_until = :lease_until',
      ConditionExpression: 'claim_token = :token AND #status = :processing',
      ExpressionAttributeNames: { '#status': 'status' },
      values: { ':token': token, ':processing': 'processing', ':lease_until': leaseUntil },
    });
  }

  /**
   * Records the result with its timings: status `processed`, the lease cleared. `lost` when another
   * claim took the order over after this one's lease ran out (the caller logs it; the work was done
   * twice, which only a lease shorter than the work allows).
   */
  async complete(
    orderId: string,
    path: ProcessingPath,
    token: string,
    { result, processingMs, bodySha256 }: { result: Record<string, unknown>; processingMs: number; bodySha256?: string },
  ): Promise<'processed' | 'lost'> {
    assertPath(path);
    const now = this.#now();
    return this.#updateHeld(orderId, path, 'processed', {
      UpdateExpression:
        'SET #status = :processed, processed_at = :now, processing_ms = :processing_ms, #result = :result, ' +
        (bodySha256 === undefined ? '' : 'body_sha256 = :body_sha256, ') +
        'expires_at = :expires_at REMOVE lease_until',
      ConditionExpression: 'claim_token = :token',
      ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
      values: {
        ':token': token,
        ':processed': 'processed',
        ':now': now,
        ':processing_ms': processingMs,
        ':result': result,
        ...(bodySha256 === undefined ? {} : { ':body_sha256': bodySha256 }),
        ':expires_at': this.expiresAt(now),
      },
    });
  }

  /**
   * Counts, on the path's record of an order that took effect, a delivery of a different order
   * under its id, and keeps the last one: one write, only when it happens.
   */
  async recordConflict(orderId: string, path: ProcessingPath, conflict: Omit<RecordedConflict, 'at'>): Promise<void> {
    assertPath(path);
    await this.#dynamodb.send(
      new UpdateItemCommand({
        TableName: this.#tableName,
        Key: toItem({ order_id: orderId, record: pathKey(path) }),
        UpdateExpression: 'SET last_conflict = :conflict ADD conflicts :one',
        ConditionExpression: 'attribute_exists(order_id)',
        ExpressionAttributeValues: toItem({ ':conflict': { ...conflict, at: this.#now() }, ':one': 1 }),
      }),
    );
  }

  /**
   * Records a failed attempt: status `failed`, the lease cleared, so the redelivery claims at once
   * instead of waiting for the lease. With `deadLettered` (the delivery was the last one allowed:
   * the message goes to the DLQ or the on-failure destination next), status `dead_lettered` in the
   * same single write, the claim token kept as `deadLetter` keeps it. `lost` when another claim
   * already took the order over: nothing is written over the new holder's record.
   */
  async fail(
    orderId: string,
    path: ProcessingPath,
    token: string,
    error: RecordedError,
    { deadLettered = false }: { deadLettered?: boolean } = {},
  ): Promise<'failed' | 'dead_lettered' | 'lost'> {
    assertPath(path);
    const now = this.#now();
    return this.#updateHeld(orderId, path, deadLettered ? 'dead_lettered' : 'failed', {
      UpdateExpression:
        'SET #status = :status, last_error = :error, failed_at = :now, expires_at = :expires_at' +
        (deadLettered ? ', dead_lettered_at = :now' : '') +
        ' REMOVE lease_until',
      ConditionExpression: 'claim_token = :token AND #status = :processing',
      ExpressionAttributeNames: { '#status': 'status' },
      values: {
        ':token': token,
        ':processing': 'processing',
        ':status': deadLettered ? 'dead_lettered' : 'failed',
        ':error': { code: error.code, message: error.message },
        ':now': now,
        ':expires_at': this.expiresAt(now),
      },
    });
  }

  /**
   * Gives a claim back unfinished (the worker is shutting down and hands the message back): the
   * lease ends now, so the next delivery claims at once instead of waiting for it. The status stays
   * `processing` and nothing counts as failed; the next claim is the next attempt. `lost` when
   * another claim already took the order over.
   */
  async release(orderId: string, path: ProcessingPath, token: string): Promise<'released' | 'lost'> {
    assertPath(path);
    // A lease is live while lease_until >= now (the claim's condition): one ms before now has run out.
    const leaseUntil = this.#now() - 1;
    return this.#updateHeld(orderId, path, 'released', {
      UpdateExpression: 'SET lease_until = :lease_until',
      ConditionExpression: 'claim_token = :token AND #status = :processing',
      ExpressionAttributeNames: { '#status': 'status' },
      values: { ':token': token, ':processing': 'processing', ':lease_until': leaseUntil },
    });
  }

  /**
   * One path's record of an order, from one consistent GetItem: what a delivery that found the order
   * `held` polls while it waits for the holder. `undefined` when there is none or it has expired.
   */
  async pathRecord(orderId: string, path: ProcessingPath): Promise<PathRecord | undefined> {
    assertPath(path);
    const item = await this.#get(orderId, pathKey(path));
    if (!item || OrderRecords.isExpired(Number(item.expires_at?.N), this.#now())) return undefined;
    return toPathRecord(item);
  }

  /**
   * The last delivery failed: status `dead_lettered`, whoever claimed last. Never over a
   * `processed` record (`processed` is returned then): an order that took effect stays so. The
   * claim token is kept, so a holder still at work when the last delivery gave up completes it.
   */
  async deadLetter(orderId: string, path: ProcessingPath, error: RecordedError): Promise<'dead_lettered' | 'processed'> {
    assertPath(path);
    const now = this.#now();
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: toItem({ order_id: orderId, record: pathKey(path) }),
          UpdateExpression:
            'SET #status = :dead_lettered, last_error = :error, dead_lettered_at = :now, ' +
            'attempts = if_not_exists(attempts, :zero), expires_at = :expires_at REMOVE lease_until',
          ConditionExpression: 'attribute_not_exists(order_id) OR #status <> :processed',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: toItem({
            ':dead_lettered': 'dead_lettered',
            ':processed': 'processed',
            ':error': { code: error.code, message: error.message },
            ':now': now,
            ':zero': 0,
            ':expires_at': this.expiresAt(now),
          }),
        }),
      );
      return 'dead_lettered';
    } catch (caught) {
      if (isConditionalCheckFailed(caught)) return 'processed';
      throw caught;
    }
  }

  /**
   * Where an order stands, from one consistent query on its partition: `undefined` when it has no
   * live record at all (never accepted, or past its retention).
   */
  async status(orderId: string): Promise<OrderStatus | undefined> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const output = await this.#dynamodb.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'order_id = :order_id',
          ExpressionAttributeValues: toItem({ ':order_id': orderId }),
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    const now = this.#now();
    const live = items.filter((item) => !OrderRecords.isExpired(Number(item.expires_at?.N), now));
    if (live.length === 0) return undefined;

    const status: OrderStatus = { order_id: orderId, paths: {} };
    const acceptances: AcceptedRecord[] = [];
    for (const item of live) {
      const record = item.record?.S;
      if (isAcceptedKey(record)) acceptances.push(toAcceptedRecord(item));
      else if (record?.startsWith('path#')) {
        const pathRecord = toPathRecord(item);
        if (PROCESSING_PATHS.includes(pathRecord.path)) status.paths[pathRecord.path] = asOf(pathRecord, now);
      }
    }
    return withAcceptance(status, acceptances);
  }

  /**
   * A claim over an expired path record starts afresh (attempt 1), as over no record: one put,
   * conditional on the record still being expired, so of two such claims one wins.
   */
  async #replaceExpiredClaim(
    orderId: string,
    path: ProcessingPath,
    token: string,
    now: number,
    leaseUntil: number,
  ): Promise<ClaimOutcome | undefined> {
    try {
      await this.#dynamodb.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: toItem({
            order_id: orderId,
            record: pathKey(path),
            status: 'processing',
            claim_token: token,
            lease_until: leaseUntil,
            claimed_at: now,
            attempts: 1,
            first_claimed_at: now,
            expires_at: this.expiresAt(now),
          }),
          ConditionExpression: 'attribute_not_exists(order_id) OR expires_at < :now_s',
          ExpressionAttributeValues: toItem({ ':now_s': Math.floor(now / 1000) }),
        }),
      );
      return { outcome: 'claimed', attempt: 1, token, leaseUntil };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  async #get(orderId: string, record: string): Promise<Item | undefined> {
    const output = await this.#dynamodb.send(
      new GetItemCommand({
        TableName: this.#tableName,
        Key: toItem({ order_id: orderId, record }),
        ConsistentRead: true,
      }),
    );
    return output.Item;
  }

  /** An update that only the claim's holder may make: `lost` when the condition fails. */
  async #updateHeld<Done extends string>(
    orderId: string,
    path: ProcessingPath,
    done: Done,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      values: Record<string, unknown>;
    },
  ): Promise<Done | 'lost'> {
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: toItem({ order_id: orderId, record: pathKey(path) }),
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: update.ConditionExpression,
          ...(update.ExpressionAttributeNames ? { ExpressionAttributeNames: update.ExpressionAttributeNames } : {}),
          ExpressionAttributeValues: toItem(update.values),
        }),
      );
      return done;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'lost';
      throw error;
    }
  }
}
