import { setTimeout as sleep } from 'node:timers/promises';
import type { Order } from '../../lib/order-schema.ts';

export interface Arrival {
  orderId: string;
  /** The order sent. */
  order: Order;
  /** Milliseconds after the start of the window when the request was sent. */
  sentAtMs: number;
  status: number;
  /** Request → answer, milliseconds. */
  latencyMs: number;
}

/** A random valid order: 1 to 5 items, prices with two decimals. */
export function randomOrder(orderId: string): Order {
  const items = 1 + Math.floor(Math.random() * 5);
  return {
    order_id: orderId,
    customer_id: 1 + Math.floor(Math.random() * 100_000),
    items: Array.from({ length: items }, () => ({
      product_id: `SKU-${String(1 + Math.floor(Math.random() * 999)).padStart(3, '0')}`,
      quantity: 1 + Math.floor(Math.random() * 5),
      price: Math.round(100 + Math.random() * 9900) / 100,
    })),
  };
}

/**
 * Open-loop arrivals: sends `rate` orders per second to POST /orders/async for `durationMs`,
 * on schedule whatever the answers' latency (a closed loop would slow down with the system
 * and hide its backlog). Resolves when every request has been answered.
 */
export async function driveArrivals(options: {
  url: string;
  rate: number;
  durationMs: number;
  idPrefix: string;
  onSent?: (sent: number) => void;
}): Promise<Arrival[]> {
  const { url, rate, durationMs, idPrefix } = options;
  const arrivals: Arrival[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  const total = Math.round((rate * durationMs) / 1000);
  while (sent < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
    while (sent < due) {
      const orderId = `${idPrefix}-${sent}`;
      const order = randomOrder(orderId);
      const sentAtMs = performance.now() - start;
      pending.push(
        fetch(`${url}/orders/async`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(order),
        })
          .then(async (response) => {
            await response.arrayBuffer();
            return response.status;
          })
          .catch(() => 0)
          .then((status) => {
            arrivals.push({ orderId, order, sentAtMs, status, latencyMs: performance.now() - start - sentAtMs });
          }),
      );
      sent += 1;
    }
    options.onSent?.(sent);
    await sleep(Math.max(1, Math.min(20, 1000 / rate)));
  }
  await Promise.all(pending);
  return arrivals;
}
