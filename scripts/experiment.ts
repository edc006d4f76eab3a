import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/errors.ts';
import { parseFlagsOrExit } from './cli.ts';
import { consoleTable, observations, writeReport } from './experiment/report.ts';
import {
  lambdaConfiguration,
  runConfiguration,
  type Configuration,
  type ConfigurationResult,
  type ExperimentSettings,
  type ProgressUpdate,
} from './experiment/run-configuration.ts';

const USAGE = `Usage: npm run experiment -- [options]

Runs the local stack once per processor configuration, drives a steady arrival rate at
POST /orders/async, and measures throughput, backlog, end-to-end latency and receive counts,
then checks that every accepted order was processed exactly once, counting effects (processed
records in the orders table), deliveries and duplicates separately. Prints the study's table
(workers → capacity N ÷ processing time → measured throughput → ratio) and writes a report
folder with a Markdown summary, results.json and SVG charts.

Options:
  --rate N            orders per second sent (default 50)
  --duration S        seconds of arrivals per configuration (default 20)
  --processing-ms N   simulated work per order (default 1000)
  --workers LIST      ECS processor concurrencies, comma-separated (default 1,20,100)
  --paths LIST        the paths to run: ecs, lambda, or ecs,lambda (default ecs,lambda)
  --lambda-concurrency LIST
                      the Lambda's concurrency limits, comma-separated, one Lambda configuration
                      each: none (unreserved: the account's 1000, label "lambda") or a reserved
                      concurrency N (label "lambda×N"). Default none,20: with the default 1 s of
                      work, 20 is the capacity of ecs×20 (20 ÷ 1 s = 20/s), below the 50/s
                      offered, so the run shows the Lambda throttled and its asynchronous queue's
                      backlog next to the worker pool's queue at the same capacity
  --duplicates N      after the window, publish N of the accepted orders to the topic a second
                      time (the same message delivered twice, as an at-least-once broker may):
                      each must come out as one more delivery and one duplicate, never a second
                      effect (default 0)
  --out DIR           report folder (default reports/experiment-<timestamp>)
  -h, --help          this text`;

export interface ExperimentOptions {
  settings: ExperimentSettings;
  configurations: Configuration[];
  out: string;
}

function positiveInteger(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new ConfigError(`--${name} must be an integer from 1 to ${max} (got "${raw}")`);
  return value;
}

export function parseExperimentArgs(argv: string[], now = new Date()): ExperimentOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      'processing-ms': { type: 'string' },
      workers: { type: 'string' },
      paths: { type: 'string' },
      'lambda-concurrency': { type: 'string' },
      duplicates: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const rate = positiveInteger('rate', values.rate, 50, 1000);
  const durationMs = positiveInteger('duration', values.duration, 20, 3600) * 1000;
  const processingMs = positiveInteger('processing-ms', values['processing-ms'], 1000, 600_000);
  const duplicates = Number(values.duplicates ?? 0);
  if (!Number.isInteger(duplicates) || duplicates < 0 || duplicates > 100_000 || values.duplicates?.trim() === '') {
    throw new ConfigError(`--duplicates must be an integer from 0 to 100000 (got "${values.duplicates}")`);
  }
  if (durationMs < 2 * processingMs) {
    throw new ConfigError(`--duration must be at least twice the processing time (${(2 * processingMs) / 1000} s) to measure a steady rate`);
  }
  const workers = (values.workers ?? '1,20,100').split(',').map((entry) => positiveInteger('workers', entry.trim(), 1, 1000));
  const paths = (values.paths ?? 'ecs,lambda').split(',').map((entry) => entry.trim());
  for (const path of paths) {
    if (path !== 'ecs' && path !== 'lambda') throw new ConfigError(`--paths may hold only ecs and lambda (got "${path}")`);
  }
  const lambdaLimits = (values['lambda-concurrency'] ?? 'none,20').split(',').map((entry) => entry.trim());
  const reserved = lambdaLimits.map((entry) => {
    if (entry === 'none') return undefined;
    const value = Number(entry);
    if (!Number.isInteger(value) || value < 1 || value > 1000) {
      throw new ConfigError(`--lambda-concurrency may hold none and integers from 1 to 1000 (got "${entry}")`);
    }
    return value;
  });
  if (new Set(lambdaLimits).size !== lambdaLimits.length) throw new ConfigError(`--lambda-concurrency names a limit twice (got "${lambdaLimits.join(',')}")`);
  const configurations: Configuration[] = [
    ...(paths.includes('ecs') ? workers.map((count): Configuration => ({ label: `ecs×${count}`, path: 'ecs', workers: count })) : []),
    ...(paths.includes('lambda') ? reserved.map(lambdaConfiguration) : []),
  ];
  const stamp = now.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  return {
    settings: { rate, durationMs, processingMs, ...(duplicates > 0 ? { duplicates } : {}) },
    configurations,
    out: values.out ?? `reports/experiment-${stamp}`,
  };
}

/** A progress line per configuration: rewritten in place on a terminal, every 5 s otherwise. */
function progressPrinter(
  stream: NodeJS.WriteStream | undefined,
  index: number,
  total: number,
  configuration: Configuration,
  settings: ExperimentSettings,
) {
  const interactive = stream?.isTTY === true;
  let lastPrinted = 0;
  return (update: ProgressUpdate) => {
    const seconds = Math.floor(update.elapsedMs / 1000);
    const window = `${Math.min(seconds, settings.durationMs / 1000)}/${settings.durationMs / 1000} s`;
    const line =
      `[${index + 1}/${total}] ${configuration.label.padEnd(9)} ${update.phase.padEnd(8)} ${window.padStart(9)}` +
      `  sent ${String(update.sent).padStart(6)}  processed ${String(update.processed).padStart(6)}  backlog ${String(update.backlog).padStart(6)}`;
    if (!stream) return;
    if (interactive) stream.write(`\r${line}\x1b[K${update.phase === 'done' ? '\n' : ''}`);
    else if (update.phase === 'done' || update.phase === 'starting' || Date.now() - lastPrinted >= 5000) {
      stream.write(`${line}\n`);
      lastPrinted = Date.now();
    }
  };
}

export async function runExperiment(
  options: ExperimentOptions,
  command: string,
  /** Where progress lines go; null for none (undefined would take the default). */
  progress: NodeJS.WriteStream | null = process.stderr,
): Promise<{ results: ConfigurationResult[]; files: string[] }> {
  const startedAt = new Date();
  const results: ConfigurationResult[] = [];
  const lambdaLogs = new Map<string, string[]>();
  for (const [index, configuration] of options.configurations.entries()) {
    const run = await runConfiguration(
      configuration,
      options.settings,
      progressPrinter(progress ?? undefined, index, options.configurations.length, configuration, options.settings),
    );
    results.push(run.result);
    if (configuration.path === 'lambda') lambdaLogs.set(configuration.label, run.lambdaLog);
  }
  const files = await writeReport(options.out, results, options.settings, command, startedAt, lambdaLogs);
  return { results, files };
}

async function main(): Promise<void> {
  const options = parseFlagsOrExit(() => parseExperimentArgs(process.argv.slice(2)), USAGE);
  const { settings, configurations } = options;
  process.stderr.write(
    `experiment: ${configurations.map((entry) => entry.label).join(', ')} at ${settings.rate} orders/s for ` +
      `${settings.durationMs / 1000} s each, ${settings.processingMs} ms per order\n`,
  );
  const command = ['npm run experiment --', ...process.argv.slice(2)].join(' ');
  const { results, files } = await runExperiment(options, command);
  process.stdout.write(`\n${consoleTable(results)}\n\n${observations(results).join('\n')}\n\nreport: ${files.join(', ')}\n`);
  if (results.some((result) => result.lost > 0 || result.duplicated > 0 || !result.drained)) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
