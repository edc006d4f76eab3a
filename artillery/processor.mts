/**
 * Artillery processor for sync.yml and async.yml: realistic random orders and the run's time box.
 *
 * A .mts file, so Artillery imports it as it is and Node 24 strips the types (a .ts processor
 * is bundled by Artillery into CommonJS, which this "type": "module" package cannot load). It is
 * loaded once per worker thread; the hooks use Artillery's callback style.
 *
 * - `attachOrder` (beforeRequest): a fresh valid order as the JSON body, and an `x-request-id`
 *   naming it, so the stack's log lines of a load order are easy to pick out.
 * - `startClock` (beforeScenario) and `withinRun` (loop whileTrue): the loop goes on until
 *   `runSeconds` (a config variable) after the first virtual user of this worker started, so
 *   users that arrive at different times all stop at the same moment and the run spans
 *   `runSeconds` (plus the last request).
 * - `recordAccepted` (afterResponse, async.yml): each order answered 202 becomes one JSON line
 *   `{"order_id","message_id","status_url"}` in the file named by ORDERSYNC_ACCEPTED_ORDERS_FILE,
 *   `status_url` being the 202's Location made absolute. `npm run load:async`
 *   (scripts/load-async.ts) sets the variable, and after the run asks every one of those orders'
 *   status. Without the variable (artillery run directly) nothing is recorded.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { Order } from '../lib/order-schema.ts';

/** Per worker: a random prefix plus a counter keeps order ids distinct across the run and across workers. */
const idPrefix = `load-${randomBytes(4).toString('hex')}`;
let ordersMade = 0;
let runStartedAt: number | undefined;

/** An integer in [min, max]. */
function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Mostly a few of a thing, now and then a bulk order; always 1–1000. */
function randomQuantity(): number {
  return Math.random() < 0.9 ? randomInt(1, 10) : randomInt(11, 1000);
}

/** A valid order (see lib/order-schema.ts): 1–5 distinct products, prices in whole cents. */
export function randomOrder(orderId: string): Order {
  const products = new Set<number>();
  const itemCount = randomInt(1, 5);
  while (products.size < itemCount) products.add(randomInt(1, 500));
  return {
    order_id: orderId,
    customer_id: randomInt(1, 99_999),
    items: [...products].map((product) => ({
      product_id: `SKU-${String(product).padStart(3, '0')}`,
      quantity: randomQuantity(),
      price: randomInt(50, 50_000) / 100,
    })),
  };
}

/** The next order id of this worker: `load-<8 hex>-<n>`. */
export function nextOrderId(): string {
  ordersMade += 1;
  return `${idPrefix}-${ordersMade}`;
}

interface RequestParams {
  json?: unknown;
  headers?: Record<string, string>;
}
interface UserContext {
  vars: Record<string, unknown>;
}
type Done = (error?: Error) => void;

/** The environment variable naming the file `recordAccepted` appends the accepted orders to. */
export const ACCEPTED_ORDERS_FILE_VARIABLE = 'ORDERSYNC_ACCEPTED_ORDERS_FILE';

/** One order answered 202, as `recordAccepted` writes it (one JSON object per line). */
export interface AcceptedOrderLine {
  order_id: string;
  message_id: string;
  /** The 202's Location, made absolute against the request's URL. */
  status_url: string;
}

interface ResponseParams {
  url?: string;
}
interface Response {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export function attachOrder(requestParams: RequestParams, _context: UserContext, _events: unknown, done: Done): void {
  const order = randomOrder(nextOrderId());
  requestParams.json = order;
  requestParams.headers = { ...requestParams.headers, 'x-request-id': `req-${order.order_id}` };
  done();
}

export function startClock(context: UserContext, _events: unknown, done: Done): void {
  const runSeconds = Number(context.vars.runSeconds);
  if (!Number.isFinite(runSeconds) || runSeconds <= 0) {
    done(new Error(`config.variables.runSeconds must be a positive number of seconds (got ${String(context.vars.runSeconds)})`));
    return;
  }
  runStartedAt ??= Date.now();
  done();
}

export function withinRun(context: UserContext, next: (carryOn: boolean) => void): void {
  next(runStartedAt !== undefined && Date.now() - runStartedAt < Number(context.vars.runSeconds) * 1000);
}

export function recordAccepted(requestParams: ResponseParams, response: Response, _context: UserContext, _events: unknown, done: Done): void {
  const file = process.env[ACCEPTED_ORDERS_FILE_VARIABLE];
  if (!file || response.statusCode !== 202) {
    done();
    return;
  }
  try {
    const body = JSON.parse(String(response.body)) as { order_id: string; message_id: string };
    const location = response.headers.location;
    const path = (Array.isArray(location) ? location[0] : location) ?? `/orders/${encodeURIComponent(body.order_id)}`;
    const line: AcceptedOrderLine = { order_id: body.order_id, message_id: body.message_id, status_url: new URL(path, requestParams.url).href };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
    done();
  } catch (error) {
    done(new Error(`cannot record the accepted order: ${(error as Error).message}`));
  }
}
