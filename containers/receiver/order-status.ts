import type { OrderStatus, PathRecord, PathStatus, ProcessingPath } from '../../lib/order-records.ts';

/** One path's part of the status resource: its state, attempts, outcome and timings. */
export interface PathStatusBody {
  status: PathStatus;
  /** Claims made on this path, the current one included. */
  attempts: number;
  first_claimed_at?: string;
  claimed_at?: string;
  /** While processing: the claim is its holder's until then; a redelivery takes it over afterwards. */
  lease_until?: string;
  processed_at?: string;
  processing_ms?: number;
  result?: Record<string, unknown>;
  /** The last failed attempt's error, kept after a later success so the history shows. */
  last_error?: { code: string; message: string };
  failed_at?: string;
  dead_lettered_at?: string;
  /**
   * Deliveries of a different order under this order_id after it took effect on this path (another
   * receiver task answered it 202): never processed. The last one's request id, and when.
   */
  conflicts?: number;
  last_conflict?: { request_id: string; at: string };
}

/**
 * The body of GET /orders/{order_id}. `status` sums the paths up: `accepted` until a path claims
 * the order; `dead_lettered` when a path gave it up; `processed` when every path that took it
 * finished it; `processing` otherwise (a claim under way, or a failed attempt waiting for its
 * redelivery). In `both` mode each path appears once it has claimed the order.
 */
export interface OrderStatusBody {
  order_id: string;
  status: 'accepted' | 'processing' | 'processed' | 'dead_lettered';
  accepted_at?: string;
  message_id?: string;
  request_id?: string;
  /**
   * Other bodies accepted under this order_id by a receiver task that did not know the first (its
   * 202 said so; a task that knew answered 409): never processed, the paths count them as
   * `conflicts`. Only when there are any.
   */
  conflicting_acceptances?: AcceptanceBody[];
  paths: Partial<Record<ProcessingPath, PathStatusBody>>;
}

/** One acceptance: what its 202 answered, and when. */
export interface AcceptanceBody {
  request_id: string;
  message_id: string;
  accepted_at: string;
}

const iso = (epochMs: number | undefined) => (epochMs === undefined ? undefined : new Date(epochMs).toISOString());

function pathBody(record: PathRecord): PathStatusBody {
  const body: PathStatusBody = {
    status: record.status,
    attempts: record.attempts,
    first_claimed_at: iso(record.first_claimed_at),
    claimed_at: iso(record.claimed_at),
    lease_until: record.status === 'processing' ? iso(record.lease_until) : undefined,
    processed_at: iso(record.processed_at),
    processing_ms: record.processing_ms,
    result: record.result,
    last_error: record.last_error,
    failed_at: iso(record.failed_at),
    dead_lettered_at: iso(record.dead_lettered_at),
    conflicts: record.conflicts,
    last_conflict: record.last_conflict
      ? { request_id: record.last_conflict.request_id, at: iso(record.last_conflict.at) ?? '' }
      : undefined,
  };
  for (const key of Object.keys(body) as (keyof PathStatusBody)[]) if (body[key] === undefined) delete body[key];
  return body;
}

export function orderStatusBody(status: OrderStatus): OrderStatusBody {
  const paths: OrderStatusBody['paths'] = {};
  for (const [path, record] of Object.entries(status.paths) as [ProcessingPath, PathRecord][]) paths[path] = pathBody(record);
  const states = Object.values(paths).map((path) => path.status);
  const summary: OrderStatusBody['status'] =
    states.length === 0
      ? 'accepted'
      : states.includes('dead_lettered')
        ? 'dead_lettered'
        : states.every((state) => state === 'processed')
          ? 'processed'
          : 'processing';
  const accepted = status.accepted;
  const conflicting = status.conflictingAcceptances ?? [];
  return {
    order_id: status.order_id,
    status: summary,
    ...(accepted ? { accepted_at: iso(accepted.accepted_at), message_id: accepted.message_id, request_id: accepted.request_id } : {}),
    ...(conflicting.length > 0
      ? { conflicting_acceptances: conflicting.map((record) => ({ request_id: record.request_id, message_id: record.message_id, accepted_at: iso(record.accepted_at) ?? '' })) }
      : {}),
    paths,
  };
}
