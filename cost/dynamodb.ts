import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { expiresAtFor, toItem, type ProcessingPath } from '../lib/order-records.ts';
import { ORDER_RETENTION_DAYS } from '../lib/orders-table.ts';

/**
 * The orders table's request units and storage per order (issue 12), from what lib/order-records.ts
 * and lib/accepted-records.ts send and store. DynamoDB bills on-demand requests per item:
 *
 * - a write is 1 write request unit (WRU) per 1 KB of the item, the larger of before and after for
 *   an update; a conditional write whose condition fails costs the same; a BatchWriteItem counts
 *   each item as one write;
 * - a strongly consistent read is 1 read request unit (RRU) per 4 KB of the item, and a read of an
 *   item that is not there costs 1 RRU all the same; a BatchGetItem counts each key as one read.
 *
 * Per order, on the happy path:
 * - receiver: 1 write of the accepted record (BatchWriteItem, batched, after the 202): 1 WRU; it
 *   reads nothing to take an order (a repeat is recognised from its memory), and each status
 *   request (GET /orders/{order_id}) is one consistent Query of the order's records, 1 RRU (they
 *   hold well under 4 KB);
 * - each processing path, per delivery: the claim (UpdateItem, conditional) and the completion
 *   (UpdateItem, conditional on the claim token): 2 WRU, no read (the claim's ReturnValues gives
 *   the attempt; a failed condition returns the stored item, ALL_OLD, instead of a read). A
 *   duplicate delivery is 1 WRU (its claim fails on the processed record). Failures, leases taken
 *   over and waits for a holder (GetItem polls) are off the happy path and not counted.
 *
 * Storage: each record's item size plus DynamoDB's 100 bytes of index overhead per item, kept
 * `retentionDays` (30) after its last write; TTL deletes expired items for nothing, some time
 * after they expire (typically within a few days), which the model does not add.
 */

/** DynamoDB's storage overhead per item (indexing), billed with the data. */
export const ITEM_OVERHEAD_BYTES = 100;
export const WRU_BYTES = 1024;
export const RRU_BYTES = 4096;

/**
 * The size DynamoDB gives an attribute value: strings their UTF-8 bytes; numbers 1 byte per two
 * significant digits plus 1; booleans and null 1; lists and maps 3 bytes plus 1 per element plus
 * the elements (a map's keys included).
 */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) {
    const digits = value.N.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + attributeValueBytes(element), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [key, element]) => sum + 1 + Buffer.byteLength(key, 'utf8') + attributeValueBytes(element), 0);
  throw new TypeError(`no size rule for attribute ${Object.keys(value).join(',')}`);
}

/** An item's size as DynamoDB bills it: every attribute's name and value. */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + attributeValueBytes(value), 0);
}

const requestUnits = (bytes: number, unit: number) => Math.max(1, Math.ceil(bytes / unit));

/**
 * Representative records, as the store writes them (lib/order-records.ts' `toItem`): ids are
 * UUIDs (36 characters), times epoch ms, an order of 3 items. A longer `order_id` (up to 64
 * characters) or `x-request-id` (up to 128) adds its extra characters, two or three times over on
 * a path record; every record stays well under 1 KB, so every write is 1 WRU.
 */
const ORDER_ID = '3f0b6a52-0005-4c1e-9d0e-1a2b3c4d5e05';
const REQUEST_ID = '9b2e4c1a-7d3f-4e8b-a1c2-3d4e5f6a7b8c';
const NOW_MS = 1_795_664_585_123; // 2026-11-26T03:43:05.123Z
const EXPIRES_AT = expiresAtFor(NOW_MS, ORDER_RETENTION_DAYS);

export const REPRESENTATIVE_ITEMS = {
  accepted: toItem({
    order_id: ORDER_ID,
    record: 'accepted#6c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
    body_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    request_id: REQUEST_ID,
    accepted_at: NOW_MS,
    message_id: '6c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
    expires_at: EXPIRES_AT,
  }),
  /** A path's record once claimed (the claim's write). */
  claimed: (path: ProcessingPath) =>
    toItem({
      order_id: ORDER_ID,
      record: `path#${path}`,
      status: 'processing',
      claim_token: '0d9c8b7a-6f5e-4d3c-8b2a-190817161514',
      lease_until: NOW_MS + 8000,
      claimed_at: NOW_MS + 21,
      attempts: 1,
      first_claimed_at: NOW_MS + 21,
      expires_at: EXPIRES_AT,
    }),
  /** The same record once processed (the completion's write: the lease removed, the result and the body's hash added). */
  processed: (path: ProcessingPath) => {
    const { lease_until: _lease, ...claimed } = REPRESENTATIVE_ITEMS.claimed(path);
    return {
      ...claimed,
      ...toItem({
        status: 'processed',
        processed_at: NOW_MS + 3023,
        processing_ms: 3001,
        body_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        result: {
          order_id: ORDER_ID,
          customer_id: 12_345,
          item_count: 3,
          unit_count: 7,
          total: 123.45,
          path,
          request_id: REQUEST_ID,
          processing_ms: 3001,
          processed_at: new Date(NOW_MS + 3023).toISOString(),
          end_to_end_ms: 3030,
        },
      }),
    };
  },
};

export interface TableUsagePerOrder {
  writeUnits: number;
  readUnits: number;
  /** Bytes stored per order (items + index overhead) while the records are kept. */
  storedBytes: number;
  /** How the figures were reached, for the cost line. */
  basis: { writes: string; reads: string; storage: string };
}

/**
 * The receiver's part: the accepted record, written once, and `statusReads` status requests per
 * order, each a strongly consistent Query of all the order's records (billed on their total size,
 * per 4 KB: the accepted record and both paths' records).
 */
export function receiverTableUsage(statusReads = 0): TableUsagePerOrder {
  const bytes = itemBytes(REPRESENTATIVE_ITEMS.accepted);
  const writeUnits = requestUnits(bytes, WRU_BYTES);
  const queried = bytes + itemBytes(REPRESENTATIVE_ITEMS.processed('ecs')) + itemBytes(REPRESENTATIVE_ITEMS.processed('lambda'));
  const unitsPerQuery = requestUnits(queried, RRU_BYTES);
  const readUnits = statusReads * unitsPerQuery;
  return {
    writeUnits,
    readUnits,
    storedBytes: bytes + ITEM_OVERHEAD_BYTES,
    basis: {
      writes: `${writeUnits} WRU per order: its accepted record (BatchWriteItem bills each item, ${bytes} B ≤ 1 KB)`,
      reads:
        statusReads > 0
          ? `${statusReads} status request(s) per order (--status-reads), each a consistent Query of the order's records (${queried} B at most, ${unitsPerQuery} RRU); taking an order reads nothing`
          : "none: no status requests counted (--status-reads 0), and taking an order reads nothing",
      storage: `${bytes + ITEM_OVERHEAD_BYTES} B per order (accepted record ${bytes} B + ${ITEM_OVERHEAD_BYTES} B overhead)`,
    },
  };
}

/** One processing path's part, per delivery: the claim and the completion of its record. */
export function pathTableUsage(path: ProcessingPath): TableUsagePerOrder {
  const claimed = itemBytes(REPRESENTATIVE_ITEMS.claimed(path));
  const processed = itemBytes(REPRESENTATIVE_ITEMS.processed(path));
  const claim = requestUnits(claimed, WRU_BYTES);
  const complete = requestUnits(Math.max(claimed, processed), WRU_BYTES);
  return {
    writeUnits: claim + complete,
    readUnits: 0,
    storedBytes: processed + ITEM_OVERHEAD_BYTES,
    basis: {
      writes: `${claim + complete} WRU per order: the claim (UpdateItem, ${claimed} B) and the completion (UpdateItem, ${processed} B), 1 delivery per order; no read`,
      reads: 'none on the happy path',
      storage: `${processed + ITEM_OVERHEAD_BYTES} B per order (path#${path} record ${processed} B + ${ITEM_OVERHEAD_BYTES} B overhead)`,
    },
  };
}
