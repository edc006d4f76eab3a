import type { Order } from '../../lib/order-schema.ts';

/** The seed's payload from the design. */
export const SEED_ORDER: Order = {
  order_id: '001',
  customer_id: 123,
  items: [{ product_id: 'SKU-001', quantity: 1, price: 19.99 }],
};

/** A valid order with a distinct id. */
export function makeOrder(id: string, items = 1): Order {
  return {
    order_id: id,
    customer_id: 1000 + items,
    items: Array.from({ length: items }, (_, index) => ({ product_id: `SKU-${index + 1}`, quantity: index + 1, price: 9.99 })),
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** One request to the receiver; the body is parsed when the answer is JSON. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: string | object; contentType?: string | null; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (options.body !== undefined && contentType !== null) headers['content-type'] = contentType;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('application/json') ?? false;
  return { status: response.status, headers: response.headers, text, body: isJson ? (JSON.parse(text) as unknown) : text };
}

/** Sends orders to /orders/async, a few at a time, and returns the answers. */
export async function sendAsyncOrders(baseUrl: string, orders: Order[], parallel = 10): Promise<HttpResult[]> {
  const results: HttpResult[] = [];
  for (let start = 0; start < orders.length; start += parallel) {
    const batch = orders.slice(start, start + parallel);
    results.push(...(await Promise.all(batch.map((order) => request(baseUrl, 'POST', '/orders/async', { body: order })))));
  }
  return results;
}
