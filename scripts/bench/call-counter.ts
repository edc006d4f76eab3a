import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** AWS API calls by action ("Publish", "PublishBatch", "ReceiveMessage", ...), as counted by the emulator. */
export type CallCounts = Record<string, number>;

/** Where the counting emulator answers its counts (GET; not itself counted). */
export const CALLS_PATH = '/_bench/calls';

/**
 * The AWS action of one request to the emulator: SQS speaks the AWS JSON protocol (the action in
 * the X-Amz-Target header, "AmazonSQS.ReceiveMessage"), SNS the query protocol (the action in the
 * form-encoded body, "Action=PublishBatch"). Undefined for anything else.
 */
export function awsAction(headers: Record<string, string | string[] | undefined>, body: unknown): string | undefined {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  const action = (body as { Action?: unknown } | null | undefined)?.Action;
  return typeof action === 'string' ? action : undefined;
}

/**
 * Counts every AWS API call the fauxqs emulator started inside `start` serves, by action (and every
 * DynamoDB call any HTTP server of this process serves: dynalite beside it): one
 * HTTP request is one call, whatever it carries (a PublishBatch of ten entries is one call, as AWS
 * bills it; an SDK retry is another call). fauxqs is a fastify app; fastify announces every new
 * instance on the `fastify.initialization` diagnostics channel, and the counter hooks the first
 * one created while `start` runs (preHandler: the body is parsed by then). The counts are
 * answered at GET CALLS_PATH on the emulator's own port, and by `counts()` in this process.
 */
export async function withCallCounter<T>(start: () => Promise<T>): Promise<{ started: T; counts: () => CallCounts }> {
  const counts: CallCounts = {};
  let hooked = false;
  const onInstance = (message: unknown) => {
    if (hooked) return;
    const fastify = (message as { fastify?: FastifyInstance }).fastify;
    if (!fastify) return;
    hooked = true;
    fastify.addHook('preHandler', (request: FastifyRequest, _reply, done) => {
      const action = request.method === 'POST' ? awsAction(request.headers, request.body) : undefined;
      if (action) counts[action] = (counts[action] ?? 0) + 1;
      done();
    });
    fastify.get(CALLS_PATH, async () => ({ ...counts }));
  };
  subscribe('fastify.initialization', onInstance);
  // DynamoDB calls to dynalite in the same process (a plain node:http server): counted as they start.
  subscribe('http.server.request.start', (message: unknown) => {
    const target = (message as { request?: { headers?: Record<string, string | string[] | undefined> } }).request?.headers?.['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('DynamoDB_')) {
      const action = target.slice(target.lastIndexOf('.') + 1);
      counts[action] = (counts[action] ?? 0) + 1;
    }
  });
  let started: T;
  try {
    started = await start();
  } finally {
    unsubscribe('fastify.initialization', onInstance);
  }
  if (!hooked) throw new Error('the emulator made no fastify instance to count calls on (has fauxqs stopped using fastify?)');
  return { started, counts: () => ({ ...counts }) };
}

/** The counts a counting emulator at `emulatorUrl` has served so far. */
export async function readCallCounts(emulatorUrl: string): Promise<CallCounts> {
  const response = await fetch(new URL(CALLS_PATH, emulatorUrl));
  if (!response.ok) throw new Error(`${emulatorUrl}${CALLS_PATH} answered ${response.status}`);
  return (await response.json()) as CallCounts;
}

/** Calls made between two readings, by action (actions with none left out). */
export function callsBetween(before: CallCounts, after: CallCounts): CallCounts {
  const delta: CallCounts = {};
  for (const [action, count] of Object.entries(after)) {
    const made = count - (before[action] ?? 0);
    if (made > 0) delta[action] = made;
  }
  return delta;
}

/** The sum of some actions' counts (e.g. Publish and PublishBatch: SNS calls). */
export function sumCalls(counts: CallCounts, actions: readonly string[]): number {
  return actions.reduce((sum, action) => sum + (counts[action] ?? 0), 0);
}
