import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parseReportLine, reportLine } from '../../local/lambda-runtime/platform-lines.ts';
import { parseColdStartArgs, parseWindow, reportsInWindow } from '../../scripts/cold-starts.ts';
import { COLD_START_QUERY, lambdaLogGroup, queryStageColdStarts, summaryFromQueryResults, type QueryResults } from '../../scripts/cold-starts/insights.ts';
import { formatColdStartSummary, reportsFromLogText, summarizeLogText, summarizeReports } from '../../scripts/cold-starts/summary.ts';

/**
 * Eight REPORT lines written by hand, with the other lines of a log around them. Three cold starts
 * (1, 4, 7), one timeout (5). Line 1 is in the shape of AWS's samples: tab-separated, X-Ray
 * fields, a trailing tab; line 7 is space-separated, as the CloudWatch console shows the lines.
 */
const LOG = [
  'START RequestId: 3f0b6a52-0001-4c1e-9d0e-1a2b3c4d5e01 Version: $LATEST',
  '{"level":30,"event":"order.processed","path":"lambda","order_id":"o-1"}',
  'END RequestId: 3f0b6a52-0001-4c1e-9d0e-1a2b3c4d5e01',
  'REPORT RequestId: 3f0b6a52-0001-4c1e-9d0e-1a2b3c4d5e01\tDuration: 201.67 ms\tBilled Duration: 682 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB\tInit Duration: 480.25 ms\tXRAY TraceId: 1-61c86fa4-59b3c6d959653c527fd10966\tSegmentId: 107ea78a5750a811\tSampled: true\t',
  'REPORT RequestId: 3f0b6a52-0002-4c1e-9d0e-1a2b3c4d5e02\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 83 MB\t',
  'REPORT RequestId: 3f0b6a52-0003-4c1e-9d0e-1a2b3c4d5e03\tDuration: 8.00 ms\tBilled Duration: 8 ms\tMemory Size: 256 MB\tMax Memory Used: 84 MB\t',
  'REPORT RequestId: 3f0b6a52-0004-4c1e-9d0e-1a2b3c4d5e04\tDuration: 150.00 ms\tBilled Duration: 461 ms\tMemory Size: 256 MB\tMax Memory Used: 79 MB\tInit Duration: 310.40 ms\t',
  '2026-11-25T10:00:03.000Z 3f0b6a52-0005-4c1e-9d0e-1a2b3c4d5e05 Task timed out after 3.00 seconds',
  'REPORT RequestId: 3f0b6a52-0005-4c1e-9d0e-1a2b3c4d5e05\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\tMax Memory Used: 97 MB\tStatus: timeout',
  'REPORT RequestId: 3f0b6a52-0006-4c1e-9d0e-1a2b3c4d5e06\tDuration: 20.25 ms\tBilled Duration: 21 ms\tMemory Size: 256 MB\tMax Memory Used: 85 MB\t',
  'REPORT RequestId: 3f0b6a52-0007-4c1e-9d0e-1a2b3c4d5e07 Duration: 95.10 ms Billed Duration: 486 ms Memory Size: 256 MB Max Memory Used: 78 MB Init Duration: 390.00 ms',
  'REPORT RequestId: 3f0b6a52-0008-4c1e-9d0e-1a2b3c4d5e08\tDuration: 15.75 ms\tBilled Duration: 16 ms\tMemory Size: 256 MB\tMax Memory Used: 86 MB\t',
].join('\n');

/**
 * By hand, nearest rank (the value at position ceil(p/100 × n) of the ascending list):
 *   invocations 8; cold starts 3 (lines 1, 4, 7); share 3/8 = 0.375
 *   Init Duration sorted [310.40, 390.00, 480.25], n = 3:
 *     p50 rank ceil(1.5) = 2 → 390.00; p90 rank ceil(2.7) = 3 → 480.25; p99 rank ceil(2.97) = 3 → 480.25; max 480.25
 *   Duration sorted [8.00, 12.50, 15.75, 20.25, 95.10, 150.00, 201.67, 3000.00], n = 8:
 *     p50 rank ceil(4) = 4 → 20.25; p99 rank ceil(7.92) = 8 → 3000.00 (the timeout)
 *   Max Memory Used max(81, 83, 84, 79, 97, 85, 78, 86) = 97; Memory Size 256
 */
const HAND_COMPUTED = {
  invocations: 8,
  coldStarts: 3,
  coldStartShare: 0.375,
  initDurationMs: { p50: 390, p90: 480.25, p99: 480.25, max: 480.25 },
  durationMs: { p50: 20.25, p99: 3000 },
  maxMemoryUsedMb: 97,
  memorySizeMb: 256,
};

describe('cold-start summary', () => {
  it('of a known set of REPORT lines gives the hand-computed figures', () => {
    expect(reportsFromLogText(LOG)).to.have.length(8);
    expect(summarizeLogText(LOG)).to.deep.equal(HAND_COMPUTED);
  });

  it('finds REPORT lines behind a prefix (aws logs tail, sls logs) and inside a JSON log line', () => {
    const line = reportLine({ requestId: 'r-1', durationMs: 12.34, billedDurationMs: 163, memorySizeMb: 256, maxMemoryUsedMb: 71, initDurationMs: 150.2 });
    const text = [
      `2026-11-25T10:00:00.000000+00:00 2026/11/25/[$LATEST]0123456789abcdef ${line}`,
      JSON.stringify({ level: 30, msg: line.replace('r-1', 'r-2') }),
      'REPORT RequestId: broken Duration: ms',
    ].join('\n');
    expect(reportsFromLogText(text).map((report) => report.requestId)).to.deep.equal(['r-1', 'r-2']);
    expect(reportsFromLogText(text)[1]).to.include({ durationMs: 12.34, initDurationMs: 150.2, maxMemoryUsedMb: 71 });
  });

  it('prints a readable table with units, and says so plainly when there is no REPORT line', () => {
    const text = formatColdStartSummary(HAND_COMPUTED, 'Cold starts in run.log');
    expect(text).to.equal(
      [
        'Cold starts in run.log',
        '  invocations       8',
        '  cold starts       3 (37.5 %)',
        '  Init Duration     p50 390.00 ms   p90 480.25 ms   p99 480.25 ms   max 480.25 ms',
        '  Duration          p50 20.25 ms   p99 3000.00 ms',
        '  Max Memory Used   97 MB of 256 MB',
        '',
      ].join('\n'),
    );
    const warm = summarizeLogText(LOG.split('\n').filter((line) => !line.includes('Init Duration')).join('\n'));
    expect(warm).to.include({ invocations: 5, coldStarts: 0, coldStartShare: 0, initDurationMs: undefined });
    expect(formatColdStartSummary(warm, 'h')).to.match(/Init Duration\s+– \(no cold start\)/);
    const empty = summarizeReports([]);
    expect(empty).to.deep.equal({
      invocations: 0, coldStarts: 0, coldStartShare: 0, initDurationMs: undefined, durationMs: undefined, maxMemoryUsedMb: undefined, memorySizeMb: undefined,
    });
    expect(formatColdStartSummary(empty, 'h', { emptyHint: 'why' })).to.equal('h\n  no REPORT line in this window: no invocation of the function was recorded.\n  why\n');
  });
});

describe("parseReportLine on AWS's REPORT lines", () => {
  it('reads a cold start traced by X-Ray, tab-separated with the trailing tab, as Lambda writes it', () => {
    const line = 'REPORT RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac\tDuration: 170.19 ms\tBilled Duration: 171 ms\tMemory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 121.74 ms\tXRAY TraceId: 1-5e34a66a-474xmpl7c2534a87870b4370\tSegmentId: 073cxmpl3e442861\tSampled: true\t';
    expect(parseReportLine(line)).to.deep.equal({
      requestId: 'c793869b-ee49-115b-a5b6-4fd21e8dedac', durationMs: 170.19, billedDurationMs: 171, memorySizeMb: 128, maxMemoryUsedMb: 73, initDurationMs: 121.74,
    });
  });

  it('reads the same with spaces, as CloudWatch shows it (the sample quoted in docs.baselime.io "Discovered keys")', () => {
    const line = 'REPORT RequestId: 8fc6f963-411b-58b5-8483-a32130c0f45d Duration: 201.67 ms Billed Duration: 202 ms Memory Size: 2048 MB Max Memory Used: 81 MB Init Duration: 480.25 ms XRAY TraceId: 1-61c86fa4-59b3c6d959653c527fd10966 SegmentId: 107ea78a5750a811 Sampled: true';
    expect(parseReportLine(line)).to.deep.equal({
      requestId: '8fc6f963-411b-58b5-8483-a32130c0f45d', durationMs: 201.67, billedDurationMs: 202, memorySizeMb: 2048, maxMemoryUsedMb: 81, initDurationMs: 480.25,
    });
  });

  it('reads a warm invocation, a timeout and an out-of-memory error', () => {
    expect(parseReportLine('REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 100 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t')).to.deep.equal({
      requestId: '3604209a-e9a3-11e6-939a-754dd98c7be3', durationMs: 12.34, billedDurationMs: 100, memorySizeMb: 128, maxMemoryUsedMb: 18,
    });
    expect(parseReportLine('REPORT RequestId: 5a1b\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 62 MB\tStatus: timeout')).to.include({ status: 'timeout', durationMs: 3000 });
    expect(parseReportLine('REPORT RequestId: 5a1c\tDuration: 801.05 ms\tBilled Duration: 802 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory')).to.include({
      status: 'error', errorType: 'Runtime.OutOfMemory', maxMemoryUsedMb: 128,
    });
    expect(parseReportLine('END RequestId: 5a1c')).to.equal(undefined);
  });
});

/**
 * The fields CloudWatch Logs Insights discovers on Lambda's platform lines, from "Supported logs
 * and discovered fields" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html):
 * @timestamp, @logStream, @message, @requestId, @duration, @billedDuration, @type,
 * @maxMemoryUsed, @memorySize, and with X-Ray @xrayTraceId, @xraySegmentId. Plus @initDuration,
 * which Logs Insights discovers on the REPORT line of a cold start and that page does not list.
 * Written out here, not imported, so that the query is checked against the page, not itself.
 */
const DOCUMENTED_LAMBDA_FIELDS = [
  '@timestamp', '@logStream', '@message', '@requestId', '@duration', '@billedDuration', '@type', '@maxMemoryUsed', '@memorySize', '@xrayTraceId', '@xraySegmentId', '@initDuration',
];
/** Aggregation functions of the stats command (CWL_QuerySyntax-operations-functions). */
const DOCUMENTED_STATS_FUNCTIONS = ['avg', 'count', 'count_distinct', 'max', 'min', 'pct', 'stddev', 'sum', 'earliest', 'latest', 'sortsFirst', 'sortsLast'];

describe('the Logs Insights query', () => {
  it('reads only fields Logs Insights discovers on REPORT lines, with documented stats functions', () => {
    const fields = new Set(COLD_START_QUERY.match(/@\w+/g));
    expect([...fields].filter((field) => !DOCUMENTED_LAMBDA_FIELDS.includes(field))).to.deep.equal([]);
    expect([...fields].sort()).to.deep.equal(['@duration', '@initDuration', '@maxMemoryUsed', '@memorySize', '@type']);
    const functions = new Set([...COLD_START_QUERY.matchAll(/\b(\w+)\(/g)].map((match) => match[1]));
    expect([...functions].filter((name) => !DOCUMENTED_STATS_FUNCTIONS.includes(name ?? ''))).to.deep.equal([]);
  });

  it('keeps the REPORT lines, counts cold starts by @initDuration and converts memory to MB by 1000 × 1000', () => {
    expect(COLD_START_QUERY.split('\n')[0]).to.equal('filter @type = "REPORT"');
    expect(COLD_START_QUERY).to.include('count(*) as invocations');
    expect(COLD_START_QUERY).to.include('count(@initDuration) as coldStarts');
    for (const p of [50, 90, 99]) expect(COLD_START_QUERY).to.include(`pct(@initDuration, ${p})`);
    expect(COLD_START_QUERY).to.include('max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMb');
    expect(COLD_START_QUERY).to.include('max(@memorySize / 1000 / 1000) as memorySizeMb');
    expect(COLD_START_QUERY).not.to.match(/1024/);
  });

  it("reads the stage's log group name from resources/messaging.json", () => {
    expect(lambdaLogGroup('dev')).to.equal('/aws/lambda/ordersync-dev-processOrder');
  });
});

describe('get-query-results parser', () => {
  const recorded = JSON.parse(readFileSync(new URL('../deploy/logs-insights-results.json', import.meta.url), 'utf8')) as QueryResults;

  it('turns a Complete answer into the summary', () => {
    expect(summaryFromQueryResults(recorded)).to.deep.equal(HAND_COMPUTED);
  });

  it('takes no row, or a count of 0, for a window without REPORT lines', () => {
    const none = summarizeReports([]);
    expect(summaryFromQueryResults({ status: 'Complete', results: [] })).to.deep.equal(none);
    expect(summaryFromQueryResults({ status: 'Complete', results: [[{ field: 'invocations', value: '0' }, { field: 'coldStarts', value: '0' }]] })).to.deep.equal(none);
  });

  it('leaves Init Duration out when no invocation was a cold start', () => {
    const warm = summaryFromQueryResults({
      status: 'Complete',
      results: [[{ field: 'invocations', value: '2' }, { field: 'coldStarts', value: '0' }, { field: 'durationP50', value: '9.5' }, { field: 'durationP99', value: '11' }]],
    });
    expect(warm).to.include({ invocations: 2, coldStarts: 0, coldStartShare: 0, initDurationMs: undefined });
    expect(warm.durationMs).to.deep.equal({ p50: 9.5, p99: 11 });
  });
});

describe('the query run (start-query, then get-query-results until Complete)', () => {
  const from = new Date('2026-11-25T09:30:00.400Z');
  const to = new Date('2026-11-25T10:00:00.400Z');

  it('polls while Running and stops at Complete', async () => {
    const calls: string[][] = [];
    const answers = ['{"status":"Scheduled","results":[]}', '{"status":"Running","results":[]}', JSON.stringify({ ...recordedComplete(), status: 'Complete' })];
    const summary = await queryStageColdStarts({
      stage: 'dev', region: 'eu-west-1', from, to, pollIntervalMs: 1,
      aws: async (args) => {
        calls.push(args);
        return args[1] === 'start-query' ? '{"queryId":"q-1"}' : (answers.shift() ?? '');
      },
    });
    expect(summary.invocations).to.equal(8);
    expect(calls[0]).to.deep.equal([
      'logs', 'start-query', '--log-group-name', '/aws/lambda/ordersync-dev-processOrder', '--start-time', '1795599000', '--end-time', '1795600800',
      '--query-string', COLD_START_QUERY, '--region', 'eu-west-1', '--output', 'json',
    ]);
    expect(calls.slice(1)).to.deep.equal(Array.from({ length: 3 }, () => ['logs', 'get-query-results', '--query-id', 'q-1', '--region', 'eu-west-1', '--output', 'json']));
  });

  it('fails plainly on Failed, and stops a query that outlasts the bound', async () => {
    const failed = queryStageColdStarts({ stage: 'dev', region: 'r', from, to, pollIntervalMs: 1, aws: async (args) => (args[1] === 'start-query' ? '{"queryId":"q-2"}' : '{"status":"Failed"}') });
    await expectRejection(failed, 'the Logs Insights query q-2 on /aws/lambda/ordersync-dev-processOrder ended with status Failed');
    const calls: string[] = [];
    const slow = queryStageColdStarts({
      stage: 'dev', region: 'r', from, to, pollIntervalMs: 5, timeoutMs: 30,
      aws: async (args) => {
        calls.push(args[1] ?? '');
        return args[1] === 'start-query' ? '{"queryId":"q-3"}' : '{"status":"Running"}';
      },
    });
    await expectRejection(slow, 'was still Running after 0 s; it was stopped (try a shorter --since)');
    expect(calls.at(-1)).to.equal('stop-query');
  });

  function recordedComplete(): QueryResults {
    return JSON.parse(readFileSync(new URL('../deploy/logs-insights-results.json', import.meta.url), 'utf8')) as QueryResults;
  }
});

describe('cold-starts flags and window', () => {
  it('reads 30s, 15m, 1h and 2d, and names --since on anything else', () => {
    expect([parseWindow('30s'), parseWindow('15m'), parseWindow('1h'), parseWindow('2d')]).to.deep.equal([30_000, 900_000, 3_600_000, 172_800_000]);
    for (const bad of ['1', '0m', '1.5h', '1w', '-1h', '']) expect(() => parseWindow(bad), bad).to.throw(`--since must be a whole number above 0 followed by s, m, h or d, e.g. 30m or 2d (got "${bad}")`);
  });

  it('wants exactly one source, and defaults the window to 1h and the region like the shell scripts', () => {
    expect(parseColdStartArgs(['--stage', 'dev', '--cold-starts'], { AWS_REGION: 'eu-west-1' })).to.deep.equal({
      source: { kind: 'stage', stage: 'dev', region: 'eu-west-1' }, since: '1h', sinceMs: 3_600_000, json: false,
    });
    expect(parseColdStartArgs(['--local', '--since', '15m', '--json'], { STATS_PORT: '5000' })).to.deep.include({ source: { kind: 'local', statsPort: '5000' }, sinceMs: 900_000, json: true });
    expect(() => parseColdStartArgs(['--cold-starts'], {})).to.throw('say where the REPORT lines are: --stage NAME, --local or --file PATH');
    expect(() => parseColdStartArgs(['--stage', 'dev', '--local'], {})).to.throw('give one of --stage, --local, not several');
    expect(() => parseColdStartArgs(['--file', 'run.log', '--since', '1h'], {})).to.throw('--since does not apply to --file');
    expect(() => parseColdStartArgs(['--stage', 'Dev'], {})).to.throw('--stage must be 1 to 20 lower-case letters');
  });

  it('keeps the reports of the window, its ends included', () => {
    const report = (at: string) => ({ requestId: at, durationMs: 1, billedDurationMs: 1, memorySizeMb: 256, maxMemoryUsedMb: 70, at });
    const reports = ['2026-11-25T08:59:59.999Z', '2026-11-25T09:00:00.000Z', '2026-11-25T09:30:00.000Z', '2026-11-25T10:00:00.000Z', '2026-11-25T10:00:00.001Z'].map(report);
    const kept = reportsInWindow(reports, new Date('2026-11-25T09:00:00Z'), new Date('2026-11-25T10:00:00Z'));
    expect(kept.map((r) => r.at)).to.deep.equal(['2026-11-25T09:00:00.000Z', '2026-11-25T09:30:00.000Z', '2026-11-25T10:00:00.000Z']);
  });
});

async function expectRejection(promise: Promise<unknown>, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.include(message);
    return;
  }
  expect.fail(`expected a rejection with "${message}"`);
}
