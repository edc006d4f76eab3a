import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';

/**
 * AWS requests per order as `npm run bench` measured them (scripts/bench/measured-requests.ts
 * writes this file on every full run), each with the load it was measured at. The cost model
 * takes its SNS publishes and SQS receives, deletes and visibility changes per order from here
 * instead of from its own rules when the file is there (`--modelled-requests` ignores it).
 */
export const DEFAULT_MEASURED_PATH = fileURLToPath(new URL('./measured-requests.json', import.meta.url));

const perOrder = z.number().nonnegative();
const counts = z.record(z.string(), z.number().int().nonnegative());

const measuredSchema = z.object({
  measuredAt: z.iso.datetime(),
  command: z.string(),
  machine: z.string(),
  loadAverage: z.array(z.number()).length(3),
  sns: z
    .object({
      source: z.string(),
      connections: z.number().int().positive(),
      orders: z.number().int().positive(),
      calls: counts,
      publishCallsPerOrder: perOrder,
    })
    .nullable(),
  sqs: z
    .object({
      source: z.string(),
      concurrency: z.number().int().positive(),
      handlerMs: z.number().nonnegative(),
      orders: z.number().int().positive(),
      efficiency: z.number().nonnegative(),
      calls: counts,
      receivesPerOrder: perOrder,
      deletesPerOrder: perOrder,
      visibilityChangesPerOrder: perOrder,
    })
    .nullable(),
});

export type MeasuredRequests = z.infer<typeof measuredSchema>;

export function parseMeasuredRequests(json: unknown, origin = 'measured requests'): MeasuredRequests {
  const result = measuredSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`invalid measured-requests file ${origin}:\n  - ${problems.join('\n  - ')}`);
  }
  return result.data;
}

/** The measured figures, or undefined when no benchmark has written the file. */
export function loadMeasuredRequests(path = DEFAULT_MEASURED_PATH): MeasuredRequests | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return parseMeasuredRequests(JSON.parse(text) as unknown, path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
}

/** "measured by npm run bench on 2026-11-26 at 50 connections" and the like, for a line's basis. */
export function measuredWhen(measured: MeasuredRequests): string {
  return `npm run bench, ${measured.measuredAt.slice(0, 10)}`;
}
