import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigurationResult, ExperimentSettings, LambdaSample } from './run-configuration.ts';
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
  'drain s',
  'redelivered',
  'effects',
  'deliveries',
  'duplicates',
  'lost',
  'twice',
] as const;

/** The Lambda configurations' own figures: cold starts from the REPORT lines, environments and throttles from the function. */
const LAMBDA_COLUMNS = [
  'configuration',
  'limit',
  'invocations',
  'cold starts',
  'init p50 ms',
  'init p99 ms',
  'peak concurrent',
  'peak environments',
  'throttles',
  'peak backlog',
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
    result.drained ? String(round(result.drainMs / 1000, 1)) : `>${round(result.drainMs / 1000, 1)}`,
    String(Object.entries(result.receiveCounts).reduce((sum, [attempt, count]) => sum + (attempt === '1' ? 0 : count), 0)),
    String(result.effects),
    String(result.deliveries),
    result.injectedDuplicates > 0 ? `${result.duplicates} (${result.injectedDuplicates} injected)` : String(result.duplicates),
    String(result.lost),
    String(result.duplicated),
  ]);
}

const initMs = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));

function lambdaRows(results: ConfigurationResult[]): string[][] {
  return results.flatMap((result) => {
    const lambda = result.lambda;
    if (!lambda) return [];
    return [
      [
        result.configuration.label,
        `${lambda.concurrencyLimit}${lambda.reserved ? ' reserved' : ' (account)'}`,
        String(lambda.reports.invocations),
        String(lambda.reports.coldStarts),
        initMs(lambda.reports.initDurationMs?.p50),
        initMs(lambda.reports.initDurationMs?.p99),
        String(lambda.peakBusy),
        String(lambda.peakEnvironments),
        String(lambda.throttles),
        String(lambda.peakBacklog),
      ],
    ];
  });
}

function alignedTable(columns: readonly string[], body: string[][]): string {
  const table = [[...columns], ...body];
  const widths = columns.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0)));
  return table.map((row) => row.map((cell, column) => cell.padStart(widths[column] ?? 0)).join('  ')).join('\n');
}

function markdownRows(columns: readonly string[], body: string[][]): string {
  const header = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`;
  return [header, rule, ...body.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** The study's table, aligned for a terminal, followed by the Lambda configurations' table when there is one. */
export function consoleTable(results: ConfigurationResult[]): string {
  const lambda = lambdaRows(results);
  return [alignedTable(COLUMNS, rows(results)), ...(lambda.length > 0 ? ['', alignedTable(LAMBDA_COLUMNS, lambda)] : [])].join('\n');
}

/** The study's table in Markdown, and the Lambda configurations' table when there is one. */
export function markdownTables(results: ConfigurationResult[]): string {
  const lambda = lambdaRows(results);
  return [markdownRows(COLUMNS, rows(results)), ...(lambda.length > 0 ? ['', markdownRows(LAMBDA_COLUMNS, lambda)] : [])].join('\n');
}

/** The report folder's file with a Lambda configuration's START, END and REPORT lines. */
export function lambdaLogFile(label: string): string {
  return `${label.replace(/×/g, '-x').replace(/[^A-Za-z0-9-]/g, '')}.log`;
}

/** What the Lambda's own figures say: cold starts, environments against the limit, throttles. */
function lambdaObservation(result: ConfigurationResult): string {
  const lambda = result.lambda;
  if (!lambda) return '';
  const init = lambda.reports.initDurationMs;
  const coldStarts =
    `${lambda.reports.coldStarts} cold starts` + (init ? ` (Init Duration p50 ${init.p50.toFixed(1)} ms, p99 ${init.p99.toFixed(1)} ms)` : '');
  const limit = lambda.reserved ? `its reserved concurrency of ${lambda.concurrencyLimit}` : `the account's ${lambda.concurrencyLimit}`;
  const throttles =
    lambda.throttles > 0
      ? `THROTTLED ${lambda.throttles} times: the events waited in the asynchronous queue (backlog up to ${lambda.peakBacklog}) and were retried with Lambda's backoff`
      : 'no throttle';
  return `; ${coldStarts}, at most ${lambda.peakBusy} concurrent environments of ${limit}, ${throttles}`;
}

/** Effects, deliveries and duplicates on the configuration's path, in words. */
function countsSentence(result: ConfigurationResult): string {
  const injected = result.injectedDuplicates > 0 ? `, ${result.injectedDuplicates} copies injected` : '';
  return (
    `${result.effects} processed records on ${result.configuration.path}; ${result.deliveries} deliveries, ` +
    `${result.duplicates} of them duplicates acknowledged without a second effect${injected}`
  );
}

/** One sentence per configuration saying what the figures show. */
export function observations(results: ConfigurationResult[]): string[] {
  return results.map((result) => {
    const { label } = result.configuration;
    const offered = result.settings.rate;
    const keptUp = result.processedPerSecond >= offered * 0.9 && result.backlogAtEnd <= offered;
    const queued = result.backlogAtEnd > offered;
    const drain =
      result.configuration.path === 'lambda'
        ? 'as the throttled events came back by themselves'
        : 'after scaling out';
    const inFlightAtEnd = result.samples.filter((sample) => sample.window).at(-1)?.inFlight ?? 0;
    let verdict: string;
    if (keptUp) verdict = `kept up with ${offered}/s (capacity ${round(result.capacityPerSecond)}/s), backlog ${result.backlogAtEnd} at the end`;
    else if (!queued) {
      // Throughput fell short with no queue to show for it: the orders were in flight, held up
      // in the workers (on the Lambda path, mostly waiting for their environments' init).
      verdict =
        `processed ${round(result.processedPerSecond)}/s of the ${offered}/s offered (capacity ${round(result.capacityPerSecond)}/s) ` +
        `with no backlog: the rest were in flight (${inFlightAtEnd} at the end of the window), not queued`;
    } else {
      verdict =
        `saturated at ${round(result.processedPerSecond)}/s of a theoretical ${round(result.capacityPerSecond)}/s ` +
        `(${Math.round((result.processedPerSecond / result.capacityPerSecond) * 100)}%); the backlog grew to ${result.backlogAtEnd} ` +
        (result.drained
          ? `and took ${round(result.drainMs / 1000, 1)} s to drain ${drain}`
          : `and was NOT drained after ${round(result.drainMs / 1000, 1)} s`);
    }
    const integrity =
      (result.lost === 0 && result.duplicated === 0
        ? `all ${result.accepted} accepted orders processed exactly once`
        : `${result.lost} accepted orders LOST and ${result.duplicated} processed twice`) + ` (${countsSentence(result)})`;
    return `- **${label}** ${verdict}${lambdaObservation(result)}; ${integrity}.`;
  });
}

export function markdownSummary(results: ConfigurationResult[], settings: ExperimentSettings, command: string, startedAt: Date): string {
  const lambdas = results.filter((result) => result.lambda);
  return [
    '# ordersync experiment',
    '',
    `Run ${startedAt.toISOString()} on the local stack (fauxqs emulator, one machine): \`${command}\`.`,
    '',
    `Arrivals: ${settings.rate} orders/s, open loop, for ${settings.durationMs / 1000} s per configuration.`,
    `Processing time (pt): ${settings.processingMs} ms per order. Capacity = workers ÷ pt (Lambda: its concurrency limit ÷ pt).`,
    ...(settings.duplicates
      ? [`Duplicates: ${settings.duplicates} accepted orders per configuration published to the topic a second time after the window (the same message delivered twice).`]
      : []),
    '',
    markdownTables(results),
    '',
    ...observations(results),
    '',
    '## How to read it',
    '',
    '- *processed/s* counts orders finished in the steady part of the window (after the first processing time, before its end).',
    '- *ratio* is measured throughput over theoretical capacity; it approaches 1 only when the offered load exceeds the capacity (a saturated worker pool). Below saturation the throughput equals the offered rate and the ratio is offered ÷ capacity.',
    "- *e2e* is accept → processed for orders finished inside the window; orders still queued at its end are not in it (see the backlog). On the Lambda path it includes the cold starts (an order that starts an environment waits for its init) and the time throttled events waited.",
    '- *backlog*: the orders queue\'s waiting messages (ECS), or the Lambda\'s asynchronous queue: events not yet taken plus throttled events waiting for their next try.',
    "- After the window the ECS processor scales out to 1000 workers to drain the backlog; a Lambda's throttled events come back by themselves, with Lambda's backoff (1 s doubling to 5 minutes), so *drain s* is how long the backlog took to empty. The experiment then checks that every accepted order was processed: *lost* and *twice* must be 0.",
    '- *redelivered* counts orders processed on a second or later delivery (SQS receive count, Lambda retry after an error; a throttle is not an attempt).',
    "- *effects*, *deliveries* and *duplicates* are counted separately, on the configuration's path: *effects* are the accepted orders whose record on the path in the orders table is `processed` (each order takes effect once per path); *deliveries* are the `order.processed` and `order.duplicate` lines (a delivery that failed is in neither); *duplicates* the `order.duplicate` lines, deliveries of an order already processed, acknowledged without redoing it. With `--duplicates N`, N accepted orders were published to the topic a second time after the window (*injected*): each must come out as one more delivery and one more duplicate, never a second effect. *lost* is accepted − effects; *twice* counts orders with two `order.processed` lines.",
    ...(lambdas.length > 0
      ? [
          "- The Lambda runs as the built bundle in execution environments (worker threads), with Lambda's limits: an invocation takes an idle environment or starts one (a cold start, its REPORT line has *Init Duration*) while the concurrency limit allows it, and is throttled otherwise. *limit* is the reserved concurrency, or the account's 1000 when unreserved.",
          '- *cold starts* and *init p50/p99* come from the REPORT lines of the run (the same lines are in the `.log` files below); *peak concurrent* is the most environments running an invocation at once (ConcurrentExecutions), *peak environments* the most alive, busy or idle; *throttles* counts refused invocation attempts (CloudWatch Throttles), so one event throttled five times counts five.',
        ]
      : []),
    '',
    '## Charts',
    '',
    '![Throughput per configuration](throughput.svg)',
    '',
    '![Backlog over time](backlog.svg)',
    '',
    ...(lambdas.length > 0 ? ['![Lambda environments over time](environments.svg)', ''] : []),
    '![End-to-end latency percentiles](latency.svg)',
    '',
    'The raw figures, including the samples, are in `results.json`.',
    ...(lambdas.length > 0
      ? [
          '',
          '## Cold starts in the run\'s output',
          '',
          'Each Lambda configuration\'s START, END and REPORT lines are in this folder, as the function\'s log group would hold them:',
          '',
          ...lambdas.map((result) => `- ${result.configuration.label}: \`${lambdaLogFile(result.configuration.label)}\``),
          '',
          'A REPORT line with `Init Duration` is a cold start: `grep -c "Init Duration" FILE` counts them, and `npm run logs -- --cold-starts --file FILE` summarizes them.',
        ]
      : []),
    '',
  ].join('\n');
}

/** Writes summary.md, results.json, the SVG charts and each Lambda configuration's log (START, END, REPORT lines) into `directory`. */
export async function writeReport(
  directory: string,
  results: ConfigurationResult[],
  settings: ExperimentSettings,
  command: string,
  startedAt: Date,
  lambdaLogs: ReadonlyMap<string, string[]> = new Map(),
): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const labels = results.map((result) => result.configuration.label);
  const lambdas = results.filter((result) => result.lambda);
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
      yLabel: 'orders waiting (Lambda: queued + throttled)',
      xLabel: 'seconds since the first order',
      series: results.map((result) => ({
        name: result.configuration.label,
        points: result.samples.filter((sample) => sample.window).map((sample): [number, number] => [round(sample.t, 1), sample.backlog]),
      })),
    }),
    ...(lambdas.length > 0
      ? {
          'environments.svg': lineChart({
            title: "Lambda's execution environments over time (window and drain)",
            yLabel: 'environments',
            xLabel: 'seconds since the first order',
            series: lambdas.flatMap((result) => [
              { name: `${result.configuration.label} concurrent`, points: lambdaPoints(result, (lambda) => lambda.busy) },
              { name: `${result.configuration.label} alive`, points: lambdaPoints(result, (lambda) => lambda.environments) },
            ]),
          }),
        }
      : {}),
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
  for (const result of lambdas) {
    const lines = lambdaLogs.get(result.configuration.label);
    if (lines) files[lambdaLogFile(result.configuration.label)] = lines.map((line) => `${line}\n`).join('');
  }
  await Promise.all(Object.entries(files).map(([name, content]) => writeFile(join(directory, name), content)));
  return Object.keys(files).map((name) => join(directory, name));
}

function lambdaPoints(result: ConfigurationResult, pick: (lambda: LambdaSample) => number): [number, number][] {
  return result.samples.flatMap((sample): [number, number][] => (sample.lambda ? [[round(sample.t, 1), pick(sample.lambda)]] : []));
}
