import type { Context } from 'koa';
import { HttpProblem } from './http-problem.ts';

/** The largest request body taken, as SNS's own message limit: 256 KiB. */
export const BODY_LIMIT_BYTES = 256 * 1024;

function tooLarge(limitBytes: number): HttpProblem {
  return new HttpProblem(413, 'payload_too_large', `request body must be at most ${limitBytes} bytes`);
}

/**
 * Reads and parses a JSON request body: 415 unless the body is declared `application/json`,
 * 413 past the limit (checked on Content-Length first, then while reading), 400 when it is
 * empty or not JSON.
 */
export async function readJsonBody(ctx: Context, limitBytes = BODY_LIMIT_BYTES): Promise<unknown> {
  if (!ctx.request.is('application/json', '+json')) {
    throw new HttpProblem(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  if (ctx.request.length !== undefined && ctx.request.length > limitBytes) throw tooLarge(limitBytes);

  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpProblem(400, 'malformed_json', 'request body is empty; send an order as JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'cannot be parsed';
    throw new HttpProblem(400, 'malformed_json', `request body is not valid JSON: ${reason}`);
  }
}
