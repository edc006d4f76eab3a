import type { Context } from 'koa';
import { ClientAbortedError, HttpProblem } from './http-problem.ts';

/** The largest request body taken, as SNS's own message limit: 256 KiB. */
export const BODY_LIMIT_BYTES = 256 * 1024;

/** How long a request body may take to arrive whole, after its headers (BODY_TIMEOUT_MS). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

export interface BodyOptions {
  limitBytes?: number;
  /** The whole body must arrive within this long, or the request is answered 408. */
  timeoutMs?: number;
  /** Aborted when the receiver stops reading (shutdown): answered 503. */
  signal?: AbortSignal | undefined;
}

/** The body was not read whole: the rest is never read, so the connection cannot be reused. */
const CLOSE = { Connection: 'close' };

function tooLarge(limitBytes: number): HttpProblem {
  return new HttpProblem(413, 'payload_too_large', `request body must be at most ${limitBytes} bytes`, { headers: CLOSE });
}

/** No Content-Length, or 0, and no Transfer-Encoding: a request without a body. */
function declaresNoBody(ctx: Context): boolean {
  return ctx.req.headers['transfer-encoding'] === undefined && !ctx.request.length;
}

/**
 * Reads the raw body under a deadline: 408 when it has not arrived whole within `timeoutMs`
 * (a stalled or trickling client), 413 past the limit, 503 when `signal` aborts (shutdown),
 * ClientAbortedError when the client closes the connection first.
 */
function readBody(ctx: Context, limitBytes: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const req = ctx.req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      signal?.removeEventListener('abort', onShutdown);
      outcome();
    };
    const fail = (error: Error) => finish(() => reject(error));
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) fail(tooLarge(limitBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(() => resolve(Buffer.concat(chunks)));
    const onError = (error: Error) => fail(new ClientAbortedError(received, { cause: error }));
    const onClose = () => {
      if (!req.complete) fail(new ClientAbortedError(received));
    };
    const onShutdown = () =>
      fail(
        new HttpProblem(503, 'shutting_down', 'the receiver is stopping and did not read the whole order; it was not accepted; retry', {
          headers: { 'Retry-After': '1', ...CLOSE },
        }),
      );
    const timer = setTimeout(
      () => fail(new HttpProblem(408, 'request_timeout', `request body not received within ${timeoutMs} ms; send it whole, at once`, { headers: CLOSE })),
      timeoutMs,
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    if (signal?.aborted) onShutdown();
    else signal?.addEventListener('abort', onShutdown, { once: true });
  });
}

/**
 * Reads and parses a JSON request body: 400 when there is none, 415 unless it is declared
 * `application/json`, 413 past the limit (checked on Content-Length first, then while reading),
 * 408 when it does not arrive whole in time, 400 when it is empty or not JSON.
 */
export async function readJsonBody(ctx: Context, options: BodyOptions = {}): Promise<unknown> {
  const { limitBytes = BODY_LIMIT_BYTES, timeoutMs = DEFAULT_BODY_TIMEOUT_MS, signal } = options;
  const empty = () => new HttpProblem(400, 'malformed_json', 'request body is empty; send an order as JSON');
  // Before the type check: a request without a body has no media type to refuse (415), it lacks the order.
  if (declaresNoBody(ctx)) throw empty();
  if (!ctx.request.is('application/json', '+json')) {
    throw new HttpProblem(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  if (ctx.request.length !== undefined && ctx.request.length > limitBytes) throw tooLarge(limitBytes);

  const text = (await readBody(ctx, limitBytes, timeoutMs, signal)).toString('utf8');
  if (text.trim() === '') throw empty();
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'cannot be parsed';
    throw new HttpProblem(400, 'malformed_json', `request body is not valid JSON: ${reason}`);
  }
}
