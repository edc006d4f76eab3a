import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { messagingSettings } from '../../lib/messaging-settings.ts';
import type { ColdStartSummary } from './summary.ts';

/**
 * The cold-start summary of a deployed stage, from CloudWatch Logs Insights on the function's log
 * group, through the AWS CLI (v1 or v2: both have `logs start-query` and `logs get-query-results`).
 *
 * The query reads only the fields Logs Insights discovers on Lambda's REPORT lines ("Supported
 * logs and discovered fields", https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html:
 * @type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed), plus @initDuration,
 * which Logs Insights discovers on the REPORT line of a cold start (the one with `Init Duration`)
 * and which that page does not list; count(@initDuration) counts the REPORT lines that have it.
 *
 * Units: @duration and @initDuration are in milliseconds, as on the line. @memorySize and
 * @maxMemoryUsed are not in MB: Logs Insights gives them in bytes of 1,000,000 per MB, so
 * "Max Memory Used: 71 MB" is 71000000. AWS's own queries divide by 1000 twice: the Lambda
 * Operator Guide's "Useful Insights queries" (`max(@maxMemoryUsed/1000/1000) as max_MemoryUsed`,
 * https://serverlessland.com/content/service/lambda/guides/aws-lambda-operator-guide/useful-queries)
 * and the Logs Insights sample query for cold starts (`@memorySize / 1000000 as memorySize`).
 * Queries elsewhere that divide by 1024 * 1024 under-report by about 5 %.
 *
 * The percentiles are Logs Insights' own pct(), not the nearest-rank figures summarizeReports
 * gives for the local stack and for log files; on a few invocations they may differ by a rank.
 */
export function lambdaLogGroup(stage: string): string {
  return `/aws/lambda/${messagingSettings.service}-${stage}-${messagingSettings.lambda.functionName}`;
}

/** Result field names of the query, one per figure of ColdStartSummary. */
const FIELDS = {
  invocations: 'invocations',
  coldStarts: 'coldStarts',
  initP50: 'initP50',
  initP90: 'initP90',
  initP99: 'initP99',
  initMax: 'initMax',
  durationP50: 'durationP50',
  durationP99: 'durationP99',
  maxMemoryUsedMb: 'maxMemoryUsedMb',
  memorySizeMb: 'memorySizeMb',
} as const;

export const COLD_START_QUERY = [
  'filter @type = "REPORT"',
  `| stats count(*) as ${FIELDS.invocations},`,
  `  count(@initDuration) as ${FIELDS.coldStarts},`,
  `  pct(@initDuration, 50) as ${FIELDS.initP50},`,
  `  pct(@initDuration, 90) as ${FIELDS.initP90},`,
  `  pct(@initDuration, 99) as ${FIELDS.initP99},`,
  `  max(@initDuration) as ${FIELDS.initMax},`,
  `  pct(@duration, 50) as ${FIELDS.durationP50},`,
  `  pct(@duration, 99) as ${FIELDS.durationP99},`,
  `  max(@maxMemoryUsed / 1000 / 1000) as ${FIELDS.maxMemoryUsedMb},`,
  `  max(@memorySize / 1000 / 1000) as ${FIELDS.memorySizeMb}`,
].join('\n');

export interface QueryResults {
  status?: string;
  results?: { field?: string; value?: string }[][];
}

/**
 * The summary in a `get-query-results` answer with status Complete. No row, or a row counting 0
 * invocations, is a window without REPORT lines.
 */
export function summaryFromQueryResults(answer: QueryResults): ColdStartSummary {
  const row = new Map<string, string>();
  for (const cell of answer.results?.[0] ?? []) {
    if (cell.field !== undefined && cell.value !== undefined) row.set(cell.field, cell.value);
  }
  const number = (field: string): number | undefined => {
    const text = row.get(field);
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new Error(`Logs Insights answered ${field} = "${text}", not a number`);
    return value;
  };
  const invocations = number(FIELDS.invocations) ?? 0;
  const coldStarts = number(FIELDS.coldStarts) ?? 0;
  const initP50 = number(FIELDS.initP50);
  const initP90 = number(FIELDS.initP90);
  const initP99 = number(FIELDS.initP99);
  const initMax = number(FIELDS.initMax);
  const durationP50 = number(FIELDS.durationP50);
  const durationP99 = number(FIELDS.durationP99);
  const megabytes = (field: string) => {
    const value = number(field);
    return value === undefined ? undefined : Math.round(value * 100) / 100;
  };
  return {
    invocations,
    coldStarts,
    coldStartShare: invocations === 0 ? 0 : coldStarts / invocations,
    initDurationMs:
      coldStarts > 0 && initP50 !== undefined && initP90 !== undefined && initP99 !== undefined && initMax !== undefined
        ? { p50: initP50, p90: initP90, p99: initP99, max: initMax }
        : undefined,
    durationMs: invocations > 0 && durationP50 !== undefined && durationP99 !== undefined ? { p50: durationP50, p99: durationP99 } : undefined,
    maxMemoryUsedMb: invocations > 0 ? megabytes(FIELDS.maxMemoryUsedMb) : undefined,
    memorySizeMb: invocations > 0 ? megabytes(FIELDS.memorySizeMb) : undefined,
  };
}

/** Runs `aws` with these arguments and gives what it printed on standard output. */
export type AwsCommand = (args: string[]) => Promise<string>;

/** The `aws` on PATH, its first error line as the message when it fails. */
export const awsOnPath: AwsCommand = (args) =>
  new Promise((resolve, reject) => {
    execFile('aws', args, { env: { ...process.env, AWS_PAGER: '' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new Error('the AWS CLI (aws) is needed and was not found on PATH'));
      const message = stderr.split('\n').map((line) => line.trim()).find(Boolean) ?? error.message;
      reject(new Error(`aws ${args.slice(0, 2).join(' ')} failed: ${message}`));
    });
  });

export interface StageQuery {
  stage: string;
  region: string;
  /** The window: [from, to]. */
  from: Date;
  to: Date;
  aws?: AwsCommand;
  pollIntervalMs?: number;
  /** How long to wait for the query to complete, from its start. */
  timeoutMs?: number;
}

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} did not answer JSON: ${text.slice(0, 200)}`);
  }
};

/**
 * Starts the query on the stage's log group for the window, polls until it completes (every
 * `pollIntervalMs`, default 1 s, for at most `timeoutMs`, default 60 s), and gives its summary.
 */
export async function queryStageColdStarts(options: StageQuery): Promise<ColdStartSummary> {
  const aws = options.aws ?? awsOnPath;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const logGroup = lambdaLogGroup(options.stage);
  let started: string;
  try {
    started = await aws([
      'logs', 'start-query',
      '--log-group-name', logGroup,
      '--start-time', String(Math.floor(options.from.getTime() / 1000)),
      '--end-time', String(Math.floor(options.to.getTime() / 1000)),
      '--query-string', COLD_START_QUERY,
      '--region', options.region,
      '--output', 'json',
    ]);
  } catch (error) {
    const message = (error as Error).message;
    if (/ResourceNotFoundException|log group does not exist/i.test(message)) {
      throw new Error(
        `the log group ${logGroup} does not exist in ${options.region}: is stage ${options.stage} deployed with processorMode lambda or both, and has the function run once?`,
      );
    }
    throw error;
  }
  const { queryId } = parseJson(started, 'aws logs start-query') as { queryId?: string };
  if (!queryId) throw new Error(`aws logs start-query gave no queryId: ${started.slice(0, 200)}`);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = parseJson(
      await aws(['logs', 'get-query-results', '--query-id', queryId, '--region', options.region, '--output', 'json']),
      'aws logs get-query-results',
    ) as QueryResults;
    const status = answer.status ?? 'Unknown';
    if (status === 'Complete') return summaryFromQueryResults(answer);
    if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout') {
      throw new Error(`the Logs Insights query ${queryId} on ${logGroup} ended with status ${status}`);
    }
    if (Date.now() + pollIntervalMs > deadline) {
      // Best effort: a query left running keeps scanning (and billing) until Logs Insights stops it.
      await aws(['logs', 'stop-query', '--query-id', queryId, '--region', options.region, '--output', 'json']).catch(() => undefined);
      throw new Error(
        `the Logs Insights query ${queryId} on ${logGroup} was still ${status} after ${Math.round(timeoutMs / 1000)} s; it was stopped (try a shorter --since)`,
      );
    }
    await sleep(pollIntervalMs);
  }
}
