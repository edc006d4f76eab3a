import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { describeError, InvalidOrderError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { processOrder } from '../../lib/order-processing.ts';
import { parseOrder, type Order } from '../../lib/order-schema.ts';
import { ClientAbortedError, errorBody, HttpProblem } from './http-problem.ts';
import { readJsonBody } from './json-body.ts';
import { OrderConflictError, type Acceptance, type AcceptMeta } from './order-intake.ts';
import { orderStatusBody } from './order-status.ts';
import type { OrderStatus } from '../../lib/order-records.ts';

/** What the receiver does with orders beyond HTTP (OrderIntake in order-intake.ts). */
export interface ReceiverOrders {
  /** Takes an order on the async path: its message id, or OrderConflictError, or the publish's error. */
  accept(order: Order, meta: AcceptMeta): Promise<Acceptance>;
  /** Where an order stands; undefined when it was never accepted (or its records expired). */
  status(orderId: string): Promise<OrderStatus | undefined>;
  /** The drain: whatever waits to be batched goes at once; resolves when the writes under way have ended. */
  flush(): Promise<void>;
}

export interface ReceiverDependencies {
  orders: ReceiverOrders;
  logger: Logger;
  /** Simulated work per order on the sync path (PROCESSING_TIME_MS). */
  processingTimeMs: number;
  /** The whole request body must arrive within this long (BODY_TIMEOUT_MS); 408 otherwise. */
  bodyTimeoutMs?: number | undefined;
  /**
   * Aborted when the receiver must have answered everything (its drain deadline, less a margin):
   * body reads, publishes and sync work still under way stop and are answered 503.
   */
  shutdownSignal?: AbortSignal | undefined;
  /** A problem to answer at once instead of serving the request (too many connections), if any. */
  admission?: ((req: IncomingMessage) => HttpProblem | undefined) | undefined;
}

export interface ReceiverState {
  requestId: string;
  logger: Logger;
}

type ReceiverContext = Context & { state: ReceiverState };

export const REQUEST_ID_HEADER = 'x-request-id';
const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Koa's own statuses for unmatched requests, turned into the contract's error bodies. */
const FALLTHROUGH_PROBLEMS: Record<number, (headers?: Record<string, string>) => HttpProblem> = {
  404: () => new HttpProblem(404, 'not_found', 'no such endpoint; see GET /health, POST /orders/sync, POST /orders/async, GET /orders/{order_id}'),
  405: (headers?: Record<string, string>) =>
    new HttpProblem(405, 'method_not_allowed', 'method not allowed on this endpoint; see the Allow header', headers ? { headers } : {}),
  501: () => new HttpProblem(501, 'not_implemented', 'method not implemented'),
};

/** Takes the caller's request id when it is sane, otherwise makes one; returns it in a header. */
function assignRequestId(ctx: ReceiverContext, next: Next, logger: Logger): Promise<void> {
  const given = ctx.get(REQUEST_ID_HEADER);
  const requestId = VALID_REQUEST_ID.test(given) ? given : randomUUID();
  ctx.state.requestId = requestId;
  ctx.state.logger = logger.child({ request_id: requestId });
  ctx.set(REQUEST_ID_HEADER, requestId);
  return next();
}

/** Invalid fields logged on an `http.request` line at most: enough to see why, bounded. */
const LOGGED_FIELDS = 20;

/** Logged as the status of a request whose client left before it was read (nginx's convention). */
const CLIENT_CLOSED_REQUEST = 499;

/**
 * Every error leaves through here as `{"error": {...}}`; nothing else (no stack) reaches the client.
 * The `http.request` line says why a request was refused: `error_code`, and for `invalid_order`
 * the offending fields.
 */
async function renderErrors(ctx: ReceiverContext, next: Next): Promise<void> {
  const started = performance.now();
  let problem: HttpProblem | undefined;
  try {
    await next();
    const fallthrough = ctx.body === undefined ? FALLTHROUGH_PROBLEMS[ctx.status] : undefined;
    if (fallthrough) throw fallthrough();
  } catch (error) {
    if (error instanceof ClientAbortedError) {
      // The client's doing, not a fault here: no stack, no 500, and nobody left to answer.
      ctx.state.logger.info(
        { event: 'http.client_aborted', method: ctx.method, path: ctx.path, received_bytes: error.receivedBytes, declared_bytes: ctx.request.length },
        'client closed the connection before sending the whole request',
      );
      problem = new HttpProblem(CLIENT_CLOSED_REQUEST, error.code, error.message);
    } else {
      problem = toProblem(error);
      if (problem.status >= 500 && !(error instanceof HttpProblem)) {
        ctx.state.logger.error({ event: 'http.internal_error', err: error }, 'unexpected error');
      }
    }
    ctx.set(problem.headers);
    ctx.status = problem.status;
    ctx.body = errorBody(problem);
  } finally {
    // Refusals at info, each with its reason; answered requests at debug: the order.accepted
    // (and order.processed) lines already say what became of each order.
    const level = ctx.status >= 400 ? 'info' : 'debug';
    // Not even built when its level is off (answered requests, at info).
    if (ctx.state.logger.isLevelEnabled(level)) {
      ctx.state.logger[level](
        {
          event: 'http.request',
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          duration_ms: Math.round(performance.now() - started),
          ...(problem ? { error_code: problem.code } : {}),
          ...(problem?.details ? { invalid_fields: problem.details.slice(0, LOGGED_FIELDS) } : {}),
        },
        'request',
      );
    }
  }
}

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof InvalidOrderError) {
    return new HttpProblem(400, 'invalid_order', error.message, { details: error.issues });
  }
  // Errors raised by Koa itself (http-errors with expose), e.g. a request aborted mid-body.
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
    return new HttpProblem(status, 'bad_request', (error as Error).message);
  }
  return new HttpProblem(500, 'internal_error', 'internal error; the request id in x-request-id finds it in the logs');
}

/** Answered when the drain deadline cuts the sync path's work short: the order was not processed. */
function shuttingDown(): HttpProblem {
  return new HttpProblem(503, 'shutting_down', 'the receiver is stopping and did not finish processing the order; retry', {
    headers: { 'Retry-After': '1', Connection: 'close' },
  });
}

function logAccepted(ctx: ReceiverContext, order: Order, path: 'sync' | 'async', extra: object = {}): void {
  ctx.state.logger.info({ event: 'order.accepted', order_id: order.order_id, path, ...extra }, 'order accepted');
}

/** Where an order's status is: the Location of its 202. */
export function orderLocation(orderId: string): string {
  return `/orders/${encodeURIComponent(orderId)}`;
}

export function createReceiverApp({
  orders,
  logger,
  processingTimeMs,
  bodyTimeoutMs,
  shutdownSignal,
  admission,
}: ReceiverDependencies): Koa<ReceiverState> {
  const app = new Koa<ReceiverState>();
  const readOrder = async (ctx: ReceiverContext): Promise<Order> =>
    parseOrder(await readJsonBody(ctx, { timeoutMs: bodyTimeoutMs, signal: shutdownSignal }));
  app.proxy = true; // behind the load balancer: trust X-Forwarded-* for ctx.ip and ctx.protocol
  app.silent = true; // errors are logged by renderErrors, not printed by Koa

  const router = new Router<ReceiverState>();

  router.get('/health', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'OK';
  });

  router.post('/orders/sync', async (ctx) => {
    const order = await readOrder(ctx);
    const acceptedAt = Date.now();
    logAccepted(ctx, order, 'sync');
    let result;
    try {
      result = await processOrder(order, {
        path: 'sync',
        requestId: ctx.state.requestId,
        logger: ctx.state.logger,
        processingTimeMs,
        acceptedAt,
        signal: shutdownSignal,
      });
    } catch (error) {
      if (shutdownSignal?.aborted) throw shuttingDown();
      throw error;
    }
    ctx.status = 200;
    ctx.body = { status: 'processed', ...result };
  });

  router.post('/orders/async', async (ctx) => {
    const order = await readOrder(ctx);
    const acceptedAt = Date.now();
    let acceptance: Acceptance;
    try {
      acceptance = await orders.accept(order, { requestId: ctx.state.requestId, acceptedAt, signal: shutdownSignal });
    } catch (error) {
      if (error instanceof OrderConflictError) {
        ctx.state.logger.info({ event: 'order.conflict', order_id: order.order_id }, 'order refused: its order_id was accepted with another body');
        throw new HttpProblem(409, error.code, error.message);
      }
      ctx.state.logger.error(
        { event: 'order.publish_failed', order_id: order.order_id, error: describeError(error), cause: describeError((error as Error).cause) },
        'order not confirmed: the topic did not take it (or did not say so); a retry never makes a second order',
      );
      throw new HttpProblem(503, 'publish_failed', 'the order was not confirmed; retry with the same order (a retry never makes a second order)', {
        headers: { 'Retry-After': '1' },
      });
    }
    if (acceptance.repeated) {
      ctx.state.logger.info({ event: 'order.repeated', order_id: order.order_id, message_id: acceptance.messageId }, 'order already accepted: answered as the first time');
    } else {
      logAccepted(ctx, order, 'async', { message_id: acceptance.messageId });
    }
    ctx.status = 202;
    ctx.set('Location', orderLocation(order.order_id));
    ctx.body = { status: 'accepted', order_id: order.order_id, message_id: acceptance.messageId, request_id: ctx.state.requestId };
  });

  router.get('/orders/:order_id', async (ctx) => {
    const orderId = ctx.params.order_id ?? '';
    // The two POST endpoints are not orders: GET on them is a wrong method, as before the status resource.
    if (orderId === 'sync' || orderId === 'async') throw FALLTHROUGH_PROBLEMS[405]!({ Allow: 'POST' });
    const status = await orders.status(orderId);
    if (!status) throw new HttpProblem(404, 'order_not_found', `no order ${orderId} was accepted (or its records expired)`);
    ctx.status = 200;
    ctx.body = orderStatusBody(status);
  });

  app.use((ctx, next) => assignRequestId(ctx as ReceiverContext, next, logger));
  app.use((ctx, next) => renderErrors(ctx as ReceiverContext, next));
  if (admission) {
    app.use((ctx, next) => {
      const refusal = admission(ctx.req);
      if (refusal) {
        // The health check still answers, so a busy task is not taken for a dead one; the
        // connection closes after it all the same.
        if (ctx.path !== '/health') throw refusal;
        ctx.set('Connection', 'close');
      }
      return next();
    });
  }
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
