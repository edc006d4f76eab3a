import { Agent, request } from 'node:http';

/** One bounded load: a fixed number of connections sending requests back to back over keep-alive. */
export interface LoadOptions {
  url: string;
  method: 'GET' | 'POST';
  path: string;
  /** The body of request number `index` (each can differ, e.g. its order id). */
  body?: (index: number) => string;
  headers?: Record<string, string>;
  connections: number;
  /** Stop after this many requests ... */
  requests: number;
  /** ... or after this long, whichever comes first. */
  maxDurationMs: number;
}

export interface LoadResult {
  /** Requests answered (any status). */
  completed: number;
  durationMs: number;
  /** Answered requests per second over the whole run. */
  perSecond: number;
  /** Milliseconds from sending to the last byte of each answer. */
  latenciesMs: number[];
  statuses: Record<number, number>;
  /** Requests that got no answer (connection errors). */
  errors: number;
  /** True when `maxDurationMs` stopped the run before `requests`. */
  cutShort: boolean;
}

function send(agent: Agent, target: URL, options: LoadOptions, index: number): Promise<number> {
  const body = options.body?.(index);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: options.method,
        path: options.path,
        headers: { ...options.headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A small load generator: `connections` loops, each on its own keep-alive socket, send the next
 * request as soon as the previous answer ends, until `requests` were sent or `maxDurationMs` passed.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.maxDurationMs;

  const loop = async () => {
    while (issued < options.requests && performance.now() < deadline) {
      const index = issued++;
      const sent = performance.now();
      try {
        const status = await send(agent, target, options, index);
        latenciesMs.push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const durationMs = performance.now() - started;
  agent.destroy();
  return {
    completed: latenciesMs.length,
    durationMs,
    perSecond: (latenciesMs.length / durationMs) * 1000,
    latenciesMs,
    statuses,
    errors,
    cutShort: issued < options.requests,
  };
}
