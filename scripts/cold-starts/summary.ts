import { parseReportLine, type InvocationReport } from '../../local/lambda-runtime/platform-lines.ts';
import { percentile } from '../experiment/statistics.ts';

/**
 * The cold-start figures of a set of Lambda invocations, from their REPORT lines: how many
 * invocations, how many of them started an execution environment (their REPORT has
 * `Init Duration`), and how long the init phase and the invocations took.
 */
export interface ColdStartSummary {
  invocations: number;
  coldStarts: number;
  /** coldStarts / invocations, 0..1 (0 when there was no invocation). */
  coldStartShare: number;
  /** Init Duration of the cold starts; undefined when there was none. */
  initDurationMs: { p50: number; p90: number; p99: number; max: number } | undefined;
  /** Duration of every invocation (cold or warm, timeouts included); undefined when there was none. */
  durationMs: { p50: number; p99: number } | undefined;
  /** The highest Max Memory Used of the invocations; undefined when there was none. */
  maxMemoryUsedMb: number | undefined;
  /** The function's Memory Size (the highest, if it changed in the window); undefined when there was none. */
  memorySizeMb: number | undefined;
}

/** Nearest-rank percentiles (scripts/experiment/statistics.ts) of the invocations' REPORT figures. */
export function summarizeReports(reports: readonly InvocationReport[]): ColdStartSummary {
  const inits = reports.flatMap((report) => (report.initDurationMs === undefined ? [] : [report.initDurationMs])).sort((a, b) => a - b);
  const durations = reports.map((report) => report.durationMs).sort((a, b) => a - b);
  const at = (sorted: number[], p: number) => percentile(sorted, p) as number;
  return {
    invocations: reports.length,
    coldStarts: inits.length,
    coldStartShare: reports.length === 0 ? 0 : inits.length / reports.length,
    initDurationMs: inits.length === 0 ? undefined : { p50: at(inits, 50), p90: at(inits, 90), p99: at(inits, 99), max: at(inits, 100) },
    durationMs: durations.length === 0 ? undefined : { p50: at(durations, 50), p99: at(durations, 99) },
    maxMemoryUsedMb: reports.length === 0 ? undefined : Math.max(...reports.map((report) => report.maxMemoryUsedMb)),
    memorySizeMb: reports.length === 0 ? undefined : Math.max(...reports.map((report) => report.memorySizeMb)),
  };
}

/**
 * The REPORT lines in a piece of log text: `npm start` output saved with `tee`, `sls logs` or
 * `aws logs tail` output. A line counts when it contains `REPORT RequestId:` (whatever prefix a
 * tool put before it: a timestamp, a log stream name), or when it is a JSON object with such a
 * line in one of its string values.
 */
export function reportsFromLogText(text: string): InvocationReport[] {
  const reports: InvocationReport[] = [];
  for (const line of text.split(/\r?\n/)) {
    const report = reportInLine(line);
    if (report) reports.push(report);
  }
  return reports;
}

function reportInLine(line: string): InvocationReport | undefined {
  const start = line.indexOf('REPORT RequestId:');
  if (start < 0) return undefined;
  const direct = parseReportLine(line.slice(start));
  if (direct) return direct;
  if (!line.trimStart().startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    for (const field of Object.values(value)) {
      if (typeof field !== 'string') continue;
      const inner = field.indexOf('REPORT RequestId:');
      const report = inner < 0 ? undefined : parseReportLine(field.slice(inner));
      if (report) return report;
    }
  } catch {
    // not JSON: not a REPORT line either
  }
  return undefined;
}

/** summarizeReports of the REPORT lines in a piece of log text. */
export function summarizeLogText(text: string): ColdStartSummary {
  return summarizeReports(reportsFromLogText(text));
}

const ms = (value: number) => `${value.toFixed(2)} ms`;
const LABEL_WIDTH = 18;
const row = (label: string, value: string) => `  ${label.padEnd(LABEL_WIDTH)}${value}`;

/**
 * The summary as a small plain-text table for a terminal, under `heading`:
 *
 *   invocations       8
 *   cold starts       3 (37.5 %)
 *   Init Duration     p50 180.00 ms   p90 260.00 ms   p99 260.00 ms   max 260.00 ms
 *   Duration          p50 20.00 ms   p99 3000.00 ms
 *   Max Memory Used   97 MB of 256 MB
 *
 * With no invocation, one plain line says so, followed by `emptyHint` (why that may be).
 */
export function formatColdStartSummary(summary: ColdStartSummary, heading: string, options: { emptyHint?: string } = {}): string {
  const lines = [heading];
  if (summary.invocations === 0) {
    lines.push('  no REPORT line in this window: no invocation of the function was recorded.');
    if (options.emptyHint) lines.push(`  ${options.emptyHint}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(row('invocations', String(summary.invocations)));
  lines.push(row('cold starts', `${summary.coldStarts} (${(summary.coldStartShare * 100).toFixed(1)} %)`));
  const init = summary.initDurationMs;
  lines.push(row('Init Duration', init ? `p50 ${ms(init.p50)}   p90 ${ms(init.p90)}   p99 ${ms(init.p99)}   max ${ms(init.max)}` : '– (no cold start)'));
  const duration = summary.durationMs;
  lines.push(row('Duration', duration ? `p50 ${ms(duration.p50)}   p99 ${ms(duration.p99)}` : '–'));
  const used = summary.maxMemoryUsedMb === undefined ? '–' : `${summary.maxMemoryUsedMb} MB`;
  lines.push(row('Max Memory Used', summary.memorySizeMb === undefined ? used : `${used} of ${summary.memorySizeMb} MB`));
  return `${lines.join('\n')}\n`;
}
