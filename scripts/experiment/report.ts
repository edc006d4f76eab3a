import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigurationResult, ExperimentSettings } from './run-configuration.ts';
import { round } from './statistics.ts';
import { barChart, lineChart } from './svg-charts.ts';

const COLUMNS = [
  'configuration',
  'workers',
  'capacity/s (N ÷ pt)',
  'offered/s',
  'accepted/s',
  'processed/s',
  'ratio (processed ÷ capacity)',
  'backlog at end',
  'e2e p50 ms',
  'e2e p95 ms',
  'e2e p99 ms',
  'redelivered',
  'lost',
  'twice',
] as const;

const ms = (value: number | undefined) => (value === undefined ? '–' : String(Math.round(value)));

function rows(results: ConfigurationResult[]): string[][] {
  return results.map((result) => [
    result.configuration.label,
    String(result.configuration.workers),
    String(round(result.capacityPerSecond)),
    String(result.settings.rate),
    String(round(result.acceptedPerSecond)),
    String(round(result.processedPerSecond)),
    String(round(result.processedPerSecond / result.capacityPerSecond, 3)),
    String(result.backlogAtEnd),
    ms(result.endToEndMs.p50),
    ms(result.endToEndMs.p95),
    ms(result.endToEndMs.p99),
    String(Object.entries(result.receiveCounts).reduce((sum, [attempt, count]) => sum + (attempt === '1' ? 0 : count), 0)),
    String(result.lost),
    String(result.duplicated),
  ]);
}

/** The study's table, aligned for a terminal. */
export function consoleTable(results: ConfigurationResult[]): string {
  const table = [[...COLUMNS], ...rows(results)];
  const widths = COLUMNS.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0)));
  return table.map((row) => row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ')).join('\n');
}

function markdownTable(results: ConfigurationResult[]): string {
  const header = `| ${COLUMNS.join(' | ')} |`;
  const rule = `| ${COLUMNS.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`;
  return [header, rule, ...rows(results).map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** One sentence per configuration saying what the figures show. */
export function observations(results: ConfigurationResult[]): string[] {
  return results.map((result) => {
    const { label } = result.configuration;
    const offered = result.settings.rate;
    const keptUp = result.processedPerSecond >= offered * 0.9 && result.backlogAtEnd <= offered;
    const verdict = keptUp
      ? `kept up with ${offered}/s (capacity ${round(result.capacityPerSecond)}/s), backlog ${result.backlogAtEnd} at the end`
      : `saturated at ${round(result.processedPerSecond)}/s of a theoretical ${round(result.capacityPerSecond)}/s ` +
        `(${Math.round((result.processedPerSecond / result.capacityPerSecond) * 100)}%); the backlog grew to ${result.backlogAtEnd} ` +
        `and took ${round(result.drainMs / 1000, 1)} s to drain after scaling out`;
    const integrity =
      result.lost === 0 && result.duplicated === 0
        ? `all ${result.accepted} accepted orders processed exactly once`
        : `${result.lost} accepted orders LOST and ${result.duplicated} processed twice`;
    return `- **${label}** ${verdict}; ${integrity}.`;
  });
}

export function markdownSummary(results: ConfigurationResult[], settings: ExperimentSettings, command: string, startedAt: Date): string {
  return [
    '# ordersync experiment',
    '',
    `Run ${startedAt.toISOString()} on the local stack (fauxqs emulator, one machine): \`${command}\`.`,
    '',
    `Arrivals: ${settings.rate} orders/s, open loop, for ${settings.durationMs / 1000} s per configuration.`,
    `Processing time (pt): ${settings.processingMs} ms per order. Capacity = workers ÷ pt.`,
    '',
    markdownTable(results),
    '',
    ...observations(results),
    '',
    '## How to read it',
    '',
    '- *processed/s* counts orders finished in the steady part of the window (after the first processing time, before its end).',
    '- *ratio* is measured throughput over theoretical capacity; it approaches 1 only when the offered load exceeds the capacity (a saturated worker pool). Below saturation the throughput equals the offered rate and the ratio is offered ÷ capacity.',
    '- *e2e* is accept → processed for orders finished inside the window; orders still queued at its end are not in it (see the backlog).',
    '- After the window the ECS processor scales out to 1000 workers to drain the backlog, so the experiment can check that every accepted order was processed: *lost* and *twice* must be 0.',
    '- *redelivered* counts orders processed on a second or later delivery (SQS receive count, Lambda retry).',
    '- The Lambda path runs through the local invoker with a 1000-invocation concurrency limit, as an AWS account has by default; cold starts are not modelled.',
    '',
    '## Charts',
    '',
    '![Throughput per configuration](throughput.svg)',
    '',
    '![Backlog over time](backlog.svg)',
    '',
    '![End-to-end latency percentiles](latency.svg)',
    '',
    'The raw figures, including the backlog samples, are in `results.json`.',
    '',
  ].join('\n');
}

/** Writes summary.md, results.json and three SVG charts into `directory`. */
export async function writeReport(
  directory: string,
  results: ConfigurationResult[],
  settings: ExperimentSettings,
  command: string,
  startedAt: Date,
): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const labels = results.map((result) => result.configuration.label);
  const files: Record<string, string> = {
    'summary.md': markdownSummary(results, settings, command, startedAt),
    'results.json': `${JSON.stringify({ startedAt: startedAt.toISOString(), command, settings, results }, null, 2)}\n`,
    'throughput.svg': barChart({
      title: 'Throughput per configuration',
      yLabel: 'orders per second',
      xLabel: 'configuration',
      categories: labels,
      // Lambda's capacity (1000 ÷ pt) dwarfs the rest: clip the scale a little above what was offered or measured.
      clipAbove: Math.max(...results.flatMap((result) => [result.settings.rate, result.processedPerSecond])) * 1.5,
      series: [
        { name: 'capacity (N ÷ pt)', values: results.map((result) => round(result.capacityPerSecond)) },
        { name: 'offered', values: results.map((result) => result.settings.rate) },
        { name: 'processed', values: results.map((result) => round(result.processedPerSecond)) },
      ],
    }),
    'backlog.svg': lineChart({
      title: 'Backlog over time',
      yLabel: 'orders waiting in the queue',
      xLabel: 'seconds since the first order',
      series: results.map((result) => ({
        name: result.configuration.label,
        points: result.samples.map((sample): [number, number] => [round(sample.t, 1), sample.backlog]),
      })),
    }),
    'latency.svg': barChart({
      title: 'End-to-end latency (accept → processed)',
      yLabel: 'milliseconds',
      xLabel: 'configuration',
      categories: labels,
      series: (['p50', 'p95', 'p99'] as const).map((key) => ({
        name: key,
        values: results.map((result) => (result.endToEndMs[key] === undefined ? undefined : Math.round(result.endToEndMs[key]))),
      })),
    }),
  };
  await Promise.all(Object.entries(files).map(([name, content]) => writeFile(join(directory, name), content)));
  return Object.keys(files).map((name) => join(directory, name));
}
