import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { ConfigError } from '../lib/errors.ts';
import { loadMeasuredRequests, DEFAULT_MEASURED_PATH } from './measured.ts';
import { DEFAULT_INPUTS, type CostInputs } from './model.ts';

export const USAGE = `Usage: npm run cost -- [options]

Monthly cost of ordersync's ECS path (SNS → SQS → Fargate processor) and Lambda path
(SNS → Lambda) for one workload, the volume where they cost the same, and the prices used.
Both paths share the front door (receiver tasks, load balancer, NAT gateway, SNS publishes).

Workload
  --orders N              orders per month (${DEFAULT_INPUTS.ordersPerMonth}); 10000000, 10_000_000, 1e7 and 10M all work
  --processing-ms N       processing time per order in ms, 0-900000 (${DEFAULT_INPUTS.processingMs})
  --peak-factor X         peak rate ÷ average rate, 1-100 (${DEFAULT_INPUTS.peakFactor}); auto task counts are sized for the peak

Lambda path
  --memory-mb N           function memory, 128-10240 (${DEFAULT_INPUTS.lambdaMemoryMb})
  --lambda-overhead-ms N  billed time per invocation beyond the processing, 0-10000 (${DEFAULT_INPUTS.lambdaOverheadMs})

ECS path and front door
  --concurrency N         orders in flight per processor task, 1-1000 (${DEFAULT_INPUTS.processorConcurrency})
  --receiver-tasks N|auto receiver tasks running all month, 1-1000 (${DEFAULT_INPUTS.receiverTasks})
  --processor-tasks N|auto processor tasks running all month, 1-1000 (${DEFAULT_INPUTS.processorTasks})
  --task-vcpu X           vCPU of every task: 0.25, 0.5, 1, 2, 4, 8 or 16 (${DEFAULT_INPUTS.taskVcpu})
  --task-memory-gb X      memory of every task, a Fargate size for that vCPU (${DEFAULT_INPUTS.taskMemoryGb})
  --receiver-rate X       orders/s one receiver task takes (${DEFAULT_INPUTS.receiverTaskRate}; an estimate, see docs/cost-model.md)
  --processor-rate X      orders/s of queue work one processor task's CPU handles (${DEFAULT_INPUTS.processorTaskRate}; an estimate)
  --efficiency X          share of concurrency ÷ processing time a processor task reaches, 0-1 (${DEFAULT_INPUTS.processorEfficiency})
  --receive-batch X       messages per non-empty SQS receive, 1-10 (${DEFAULT_INPUTS.receiveBatch}); used with --modelled-requests
                          or when cost/measured-requests.json has no processor figures
  --modelled-requests     ignore cost/measured-requests.json (the SNS and SQS requests per order
                          npm run bench measured) and count requests by the model's own rules
  --nat-gateways N        NAT gateways, 0-10 (${DEFAULT_INPUTS.natGateways}); 0 leaves NAT out entirely

Orders table (DynamoDB, on demand; both paths)
  --pitr                  with point-in-time recovery, as a prod stage deploys it (off, as dev)
  --status-reads N        status requests (GET /orders/{order_id}) per order, 0-1000 (${DEFAULT_INPUTS.statusReadsPerOrder});
                          each is a load balancer request and a consistent read of the order's records

Output
  --prices FILE           price file (cost/prices.json)
  --json                  the whole estimate and break-even as JSON
  -h, --help              this text

The model and its assumptions: docs/cost-model.md.`;

export interface CostCommand {
  help: boolean;
  json: boolean;
  pricesPath: string | undefined;
  inputs: CostInputs;
}

/** Fargate's memory sizes (GB) per vCPU: [smallest, largest, step], or the explicit list for 0.25 vCPU. */
const FARGATE_MEMORY: Record<string, number[] | [number, number, number]> = {
  '0.25': [0.5, 1, 2],
  '0.5': [1, 4, 1],
  '1': [2, 8, 1],
  '2': [4, 16, 1],
  '4': [8, 30, 1],
  '8': [16, 60, 4],
  '16': [32, 120, 8],
};

function fargateMemorySizes(vcpu: number): number[] {
  const entry = FARGATE_MEMORY[String(vcpu)];
  if (!entry) return [];
  if (vcpu === 0.25) return entry;
  const [smallest, largest, step] = entry as [number, number, number];
  return Array.from({ length: (largest - smallest) / step + 1 }, (_, index) => smallest + index * step);
}

const MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9 };

/** "10000000", "10_000_000", "10,000,000", "1e7", "10M" → 10000000; NaN when it is none of those. */
export function parseQuantity(raw: string): number {
  const text = raw.trim().replace(/[_,]/g, '').toLowerCase();
  const match = /^([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)([kmb]?)$/.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) * (MULTIPLIERS[match[2] ?? ''] ?? 1);
}

/** Reads flag values and remembers every problem, so one run reports them all. */
class FlagReader {
  readonly problems: string[] = [];
  private readonly values: Record<string, unknown>;

  constructor(values: Record<string, unknown>) {
    this.values = values;
  }

  number(flag: string, fallback: number, min: number, max: number, options: { integer?: boolean; minExclusive?: boolean } = {}): number {
    const raw = this.values[flag];
    if (typeof raw !== 'string') return fallback;
    const value = parseQuantity(raw);
    const kind = options.integer ? 'a whole number' : 'a number';
    const tooSmall = options.minExclusive ? value <= min : value < min;
    if (!Number.isFinite(value) || tooSmall || value > max || (options.integer && !Number.isInteger(value))) {
      const lower = options.minExclusive ? `above ${min}` : `from ${min.toLocaleString('en-US')}`;
      this.problems.push(`--${flag} must be ${kind} ${lower} to ${max.toLocaleString('en-US')} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  tasks(flag: string, fallback: number | 'auto'): number | 'auto' {
    const raw = this.values[flag];
    if (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto') return 'auto';
    if (typeof raw !== 'string') return fallback;
    const value = parseQuantity(raw);
    if (!Number.isInteger(value) || value < 1 || value > 1000) {
      this.problems.push(`--${flag} must be "auto" or a whole number from 1 to 1,000 (got "${raw}")`);
      return fallback;
    }
    return value;
  }
}

/** Every flag that takes a value; values are read as text and checked by FlagReader. */
const VALUE_FLAGS = [
  'orders', 'processing-ms', 'peak-factor', 'memory-mb', 'lambda-overhead-ms', 'concurrency', 'receiver-tasks', 'processor-tasks',
  'task-vcpu', 'task-memory-gb', 'receiver-rate', 'processor-rate', 'efficiency', 'receive-batch', 'nat-gateways', 'prices', 'status-reads',
] as const;

const FLAGS: ParseArgsOptionsConfig = {
  ...Object.fromEntries(VALUE_FLAGS.map((name) => [name, { type: 'string' }] as const)),
  json: { type: 'boolean' },
  'modelled-requests': { type: 'boolean' },
  pitr: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** node:util's parse errors, in the same plain words as the value checks. */
function plainParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const option = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(message) ? `${option.split(' ')[0]} needs a value` : `${option.split(' ')[0]} takes no value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${option}: every value follows its --flag`;
  return message;
}

/**
 * Turns the command line into a validated command; a ConfigError names every bad flag. The
 * benchmark's measured requests per order are read from `measuredPath` unless --modelled-requests.
 */
export function parseCostArgs(argv: string[], measuredPath = DEFAULT_MEASURED_PATH): CostCommand {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(plainParseError(error));
  }
  const read = new FlagReader(values);
  const d = DEFAULT_INPUTS;
  const taskVcpu = read.number('task-vcpu', d.taskVcpu, 0.25, 16);
  if (values['task-vcpu'] !== undefined && !(String(taskVcpu) in FARGATE_MEMORY)) {
    const allowed = Object.keys(FARGATE_MEMORY).sort((a, b) => Number(a) - Number(b));
    read.problems.push(`--task-vcpu must be one of ${allowed.join(', ')} (got "${String(values['task-vcpu'])}")`);
  }
  const taskMemoryGb = read.number('task-memory-gb', values['task-vcpu'] === undefined ? d.taskMemoryGb : (fargateMemorySizes(taskVcpu)[0] ?? d.taskMemoryGb), 0.5, 120);
  const sizes = fargateMemorySizes(taskVcpu);
  if (sizes.length > 0 && !sizes.includes(taskMemoryGb)) {
    read.problems.push(
      `--task-memory-gb ${taskMemoryGb} is not a Fargate size for ${taskVcpu} vCPU: choose ${sizes.length <= 5 ? sizes.join(', ') : `${sizes[0]} to ${sizes.at(-1)} in steps of ${(sizes[1] ?? 0) - (sizes[0] ?? 0)}`} GB`,
    );
  }
  const inputs: CostInputs = {
    ordersPerMonth: read.number('orders', d.ordersPerMonth, 0, 1e12, { integer: true }),
    processingMs: read.number('processing-ms', d.processingMs, 0, 900_000, { integer: true }),
    lambdaMemoryMb: read.number('memory-mb', d.lambdaMemoryMb, 128, 10_240, { integer: true }),
    processorConcurrency: read.number('concurrency', d.processorConcurrency, 1, 1000, { integer: true }),
    receiverTasks: read.tasks('receiver-tasks', d.receiverTasks),
    processorTasks: read.tasks('processor-tasks', d.processorTasks),
    taskVcpu,
    taskMemoryGb,
    peakFactor: read.number('peak-factor', d.peakFactor, 1, 100),
    receiveBatch: read.number('receive-batch', d.receiveBatch, 1, 10),
    natGateways: read.number('nat-gateways', d.natGateways, 0, 10, { integer: true }),
    receiverTaskRate: read.number('receiver-rate', d.receiverTaskRate, 0, 1e6, { minExclusive: true }),
    processorTaskRate: read.number('processor-rate', d.processorTaskRate, 0, 1e6, { minExclusive: true }),
    processorEfficiency: read.number('efficiency', d.processorEfficiency, 0, 1, { minExclusive: true }),
    lambdaOverheadMs: read.number('lambda-overhead-ms', d.lambdaOverheadMs, 0, 10_000),
    pointInTimeRecovery: values.pitr === true,
    statusReadsPerOrder: read.number('status-reads', d.statusReadsPerOrder, 0, 1000),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems.join('\n'));
  if (values['modelled-requests'] !== true && values.help !== true) {
    const measured = loadMeasuredRequests(measuredPath);
    if (measured) inputs.measuredRequests = measured;
  }
  return {
    help: values.help === true,
    json: values.json === true,
    pricesPath: typeof values.prices === 'string' ? values.prices : undefined,
    inputs,
  };
}
