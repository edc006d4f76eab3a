/**
 * The platform lines Lambda writes around every invocation in the function's log group, in the
 * text log format (serverless.yml sets `logFormat: Text` on the function): START, END and REPORT,
 * with `Init Duration` on the REPORT of a cold start, and the timeout line. The local invoker
 * writes them in exactly this shape so that `grep "Init Duration"` and the same Logs Insights
 * fields (@type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed,
 * @initDuration) find cold starts locally as on AWS.
 *
 *   START RequestId: 6a1c…  Version: $LATEST
 *   END RequestId: 6a1c…
 *   REPORT RequestId: 6a1c…\tDuration: 12.34 ms\tBilled Duration: 163 ms\tMemory Size: 256 MB\tMax Memory Used: 71 MB\tInit Duration: 150.20 ms\t
 */

/** One REPORT line, in the units of the line (milliseconds, megabytes). */
export interface InvocationReport {
  requestId: string;
  durationMs: number;
  billedDurationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** Present on the first invocation of an execution environment: a cold start. */
  initDurationMs?: number;
  /** `timeout` or `error` when the runtime ended the invocation (AWS adds it then); absent otherwise. */
  status?: 'timeout' | 'error';
  /** With `status: error`: Runtime.OutOfMemory, Runtime.ExitError. */
  errorType?: string;
}

export function startLine(requestId: string, version = '$LATEST'): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

/**
 * Billed Duration: the invocation's duration rounded up to the millisecond, plus the init phase
 * on a cold start (billed for managed runtimes since 1 August 2025).
 */
export function billedDurationMs(durationMs: number, initDurationMs?: number): number {
  return Math.ceil(durationMs + (initDurationMs ?? 0));
}

export function reportLine(report: InvocationReport): string {
  const fields = [
    `REPORT RequestId: ${report.requestId}`,
    `Duration: ${report.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${report.billedDurationMs} ms`,
    `Memory Size: ${report.memorySizeMb} MB`,
    `Max Memory Used: ${report.maxMemoryUsedMb} MB`,
  ];
  if (report.initDurationMs !== undefined) fields.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
  if (report.status) fields.push(`Status: ${report.status}`);
  if (report.errorType) fields.push(`Error Type: ${report.errorType}`);
  return `${fields.join('\t')}\t`;
}

/** The line the runtime writes when an invocation reaches the function's timeout. */
export function timeoutLine(at: Date, requestId: string, timeoutMs: number): string {
  return `${at.toISOString()} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
}

/**
 * The fields of a REPORT line, as CloudWatch Logs Insights discovers them: words separated by
 * tabs or spaces, `Init Duration` only on a cold start, and AWS's optional trailing fields
 * (Status, Error Type, XRAY TraceId, …) tolerated.
 */
export const REPORT_PATTERN =
  /^REPORT RequestId: (?<requestId>[\w-]+)\s+Duration: (?<duration>\d+(?:\.\d+)?) ms\s+Billed Duration: (?<billed>\d+) ms\s+Memory Size: (?<memory>\d+) MB\s+Max Memory Used: (?<used>\d+) MB(?:\s+Init Duration: (?<init>\d+(?:\.\d+)?) ms)?(?:\s+Status: (?<status>\w+))?(?:\s+Error Type: (?<errorType>[\w.]+))?/;

/** A REPORT line's figures, or undefined for any other line. */
export function parseReportLine(line: string): InvocationReport | undefined {
  const match = REPORT_PATTERN.exec(line.trim());
  const groups = match?.groups;
  if (!groups) return undefined;
  const report: InvocationReport = {
    requestId: groups.requestId ?? '',
    durationMs: Number(groups.duration),
    billedDurationMs: Number(groups.billed),
    memorySizeMb: Number(groups.memory),
    maxMemoryUsedMb: Number(groups.used),
  };
  if (groups.init !== undefined) report.initDurationMs = Number(groups.init);
  if (groups.status === 'timeout' || groups.status === 'error') report.status = groups.status;
  if (groups.errorType !== undefined) report.errorType = groups.errorType;
  return report;
}

/** A REPORT with the time the invocation ended, as the local invoker keeps them. */
export type TimedReport = InvocationReport & { at: string };
