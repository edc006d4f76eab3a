import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';

/** The price file the cost model uses unless told otherwise. */
export const DEFAULT_PRICES_PATH = fileURLToPath(new URL('./prices.json', import.meta.url));

const price = z.number().nonnegative();
const source = z.url();

/** Tiers of a monthly quantity, cheapest last; the last one is open-ended (`upTo: null`). */
function tiers<T extends { upTo: number | null }>(tier: z.ZodType<T>) {
  return z
    .array(tier)
    .min(1)
    .refine((list) => list.at(-1)?.upTo === null && list.slice(0, -1).every((entry) => entry.upTo !== null), {
      message: 'only the last tier has "upTo": null',
    })
    .refine((list) => list.every((entry, index) => index === 0 || (entry.upTo ?? Infinity) > (list[index - 1]?.upTo ?? 0)), {
      message: 'tiers must be in increasing "upTo" order',
    });
}
const upTo = z.number().positive().nullable();

const pricesSchema = z.object({
  region: z.string().min(1),
  currency: z.string().min(1),
  asOf: z.iso.date(),
  hoursPerMonth: z.number().positive(),
  fargate: z.object({ source, perVcpuHour: price, perGbHour: price }),
  alb: z.object({
    source,
    perHour: price,
    perLcuHour: price,
    lcu: z.object({ newConnectionsPerSecond: z.number().positive(), processedGbPerHour: z.number().positive() }),
  }),
  natGateway: z.object({ source, perHour: price, perGbProcessed: price }),
  publicIpv4: z.object({ source, perAddressHour: price }),
  sqs: z.object({
    source,
    requestTiers: tiers(z.object({ upTo, perMillion: price })),
    snsDeliveryCountsAsRequest: z.boolean(),
    free: z.object({ requestsPerMonth: price }),
  }),
  sns: z.object({
    source,
    perMillionPublishes: price,
    perMillionSqsDeliveries: price,
    perMillionLambdaDeliveries: price,
    free: z.object({ publishesPerMonth: price }),
  }),
  lambda: z.object({
    source,
    perMillionRequests: price,
    gbSecondTiers: tiers(z.object({ upTo, perGbSecond: price })),
    free: z.object({ requestsPerMonth: price, gbSecondsPerMonth: price }),
  }),
  dynamodb: z.object({
    source,
    /** The DynamoDB prices were written down on a day of their own. */
    asOf: z.iso.date(),
    perMillionWriteRequestUnits: price,
    perMillionReadRequestUnits: price,
    perGbMonthStorage: price,
    perGbMonthPointInTimeRecovery: price,
    free: z.object({ storageGbPerMonth: price }),
  }),
  cloudwatchLogs: z.object({ source, perGbIngested: price, free: z.object({ gbIngestedPerMonth: price }) }),
});

export type Prices = z.infer<typeof pricesSchema>;

/** Validates a parsed price file; every problem is named with its path in the file. */
export function parsePrices(json: unknown, origin = 'prices'): Prices {
  const result = pricesSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(`invalid price file ${origin}:\n  - ${problems.join('\n  - ')}`);
  }
  return result.data;
}

/** Reads and validates a price file (JSON, as cost/prices.json). */
export function loadPrices(path = DEFAULT_PRICES_PATH): Prices {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the price file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the price file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePrices(json, path);
}

/** Every source page the prices come from, once each. */
export function priceSources(prices: Prices): { service: string; url: string }[] {
  const services = ['fargate', 'alb', 'natGateway', 'publicIpv4', 'sqs', 'sns', 'lambda', 'dynamodb', 'cloudwatchLogs'] as const;
  return services.map((service) => ({ service, url: prices[service].source }));
}
