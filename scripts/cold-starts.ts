import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/errors.ts';
import type { TimedReport } from '../local/lambda-runtime/platform-lines.ts';
import { parseFlagsOrExit } from './cli.ts';
import { lambdaLogGroup, queryStageColdStarts } from './cold-starts/insights.ts';
import { formatColdStartSummary, reportsFromLogText, summarizeReports, type ColdStartSummary } from './cold-starts/summary.ts';

const USAGE = `Usage: npm run logs -- --cold-starts (--stage NAME [--region R] | --local | --file PATH) [--since 1h] [--json]

The Lambda's cold starts over a time window: invocations, cold starts and their share, Init
Duration p50/p90/p99/max, Duration p50/p99, and the highest Max Memory Used, all from the
REPORT lines Lambda writes after every invocation.

Sources (one of):
  --stage NAME     a deployed stage: CloudWatch Logs Insights on the log group
                   /aws/lambda/ordersync-NAME-processOrder, through the AWS CLI (v1 or v2) with
                   your usual credentials
  --region R       AWS region of the stage (default AWS_REGION, else us-east-1)
  --local          the stack of \`npm start -- --processor lambda\` (or both) on this machine
                   (STATS_PORT, default 4567)
  --file PATH      the REPORT lines in a saved log, e.g. \`npm start | tee run.log\`; every
                   line of the file counts (--since does not apply)

Options:
  --since WINDOW   how far back: a number and s, m, h or d (30s, 15m, 1h, 2d; default 1h)
  --json           print the summary as JSON
  -h, --help       this text`;

export type ColdStartSource = { kind: 'stage'; stage: string; region: string } | { kind: 'local'; statsPort: string } | { kind: 'file'; path: string };

export interface ColdStartOptions {
  source: ColdStartSource;
  sinceMs: number;
  /** The window as given (e.g. "30m"), for the heading. */
  since: string;
  json: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "15m", "1h", "2d" in milliseconds. */
export function parseWindow(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  const amount = Number(match?.[1]);
  const unit = UNIT_MS[match?.[2] ?? ''];
  if (!match || unit === undefined || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new ConfigError(`--since must be a whole number above 0 followed by s, m, h or d, e.g. 30m or 2d (got "${text}")`);
  }
  return amount * unit;
}

export function parseColdStartArgs(argv: string[], env: NodeJS.ProcessEnv): ColdStartOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      // logs.sh hands every --cold-starts invocation over as it is; the flag itself says nothing more here.
      'cold-starts': { type: 'boolean', default: false },
      stage: { type: 'string', short: 's' },
      region: { type: 'string', short: 'r' },
      local: { type: 'boolean', default: false },
      file: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const given = [values.stage !== undefined && '--stage', values.local && '--local', values.file !== undefined && '--file'].filter(Boolean);
  if (given.length !== 1) {
    throw new ConfigError(
      given.length === 0 ? 'say where the REPORT lines are: --stage NAME, --local or --file PATH' : `give one of ${given.join(', ')}, not several`,
    );
  }
  if (values.region !== undefined && values.stage === undefined) throw new ConfigError('--region goes with --stage');
  let source: ColdStartSource;
  if (values.stage !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(values.stage)) {
      throw new ConfigError(`--stage must be 1 to 20 lower-case letters, digits or hyphens (got "${values.stage}")`);
    }
    source = { kind: 'stage', stage: values.stage, region: values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' };
  } else if (values.local) {
    source = { kind: 'local', statsPort: env.STATS_PORT ?? '4567' };
  } else {
    if (values.since !== undefined) throw new ConfigError('--since does not apply to --file: every REPORT line of the file counts');
    source = { kind: 'file', path: values.file ?? '' };
  }
  const since = values.since ?? '1h';
  return { source, since, sinceMs: parseWindow(since), json: values.json };
}

/** The local stack's REPORT lines, from its stats server. */
export async function fetchLocalReports(statsPort: string): Promise<TimedReport[]> {
  const url = `http://127.0.0.1:${statsPort}/lambda/reports`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw new Error(`no local stack answers at ${url}: start it with npm start -- --processor lambda (or both), or set STATS_PORT to its port`);
  }
  const body = (await response.json().catch(() => undefined)) as { reports?: TimedReport[]; error?: { code?: string } } | undefined;
  if (response.status === 404 && body?.error?.code === 'no_lambda') {
    throw new Error('the local stack runs no Lambda: start it with npm start -- --processor lambda (or both)');
  }
  if (!response.ok || !Array.isArray(body?.reports)) {
    throw new Error(`${url} answered ${response.status} without reports: is this stack older than the cold-start report? restart npm start`);
  }
  return body.reports;
}

/** The reports whose `at` lies in [from, to]. */
export function reportsInWindow(reports: readonly TimedReport[], from: Date, to: Date): TimedReport[] {
  return reports.filter((report) => {
    const at = Date.parse(report.at);
    return at >= from.getTime() && at <= to.getTime();
  });
}

export interface ColdStartRun {
  summary: ColdStartSummary;
  heading: string;
  emptyHint: string;
}

const time = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function coldStarts(options: ColdStartOptions, now = new Date(), pollIntervalMs?: number): Promise<ColdStartRun> {
  const from = new Date(now.getTime() - options.sinceMs);
  const window = `last ${options.since} (${time(from)} to ${time(now)})`;
  const { source } = options;
  if (source.kind === 'stage') {
    const summary = await queryStageColdStarts({ stage: source.stage, region: source.region, from, to: now, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
    return {
      summary,
      heading: `Cold starts of processOrder on stage ${source.stage} (${source.region}, ${lambdaLogGroup(source.stage)}), ${window}`,
      emptyHint: `The function may not have run in this window, or stage ${source.stage} runs without the Lambda (processorMode ecs): try a longer --since.`,
    };
  }
  if (source.kind === 'local') {
    const reports = reportsInWindow(await fetchLocalReports(source.statsPort), from, now);
    return {
      summary: summarizeReports(reports),
      heading: `Cold starts of the local Lambda (npm start, stats port ${source.statsPort}), ${window}`,
      emptyHint: 'No order reached the Lambda in this window: send some (e.g. npm run load:async), or try a longer --since.',
    };
  }
  let text: string;
  try {
    text = await readFile(resolve(process.env.INIT_CWD ?? process.cwd(), source.path), 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return {
    summary: summarizeReports(reportsFromLogText(text)),
    heading: `Cold starts in ${source.path} (every REPORT line of the file)`,
    emptyHint: 'The file has no REPORT RequestId: line: was it written by npm start -- --processor lambda (or both)?',
  };
}

async function main(): Promise<void> {
  const options = parseFlagsOrExit(() => parseColdStartArgs(process.argv.slice(2), process.env), USAGE);
  try {
    const run = await coldStarts(options);
    if (options.json) process.stdout.write(`${JSON.stringify(run.summary)}\n`);
    else process.stdout.write(formatColdStartSummary(run.summary, run.heading, { emptyHint: run.emptyHint }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
