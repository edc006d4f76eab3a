import type { BreakEven, Cheaper } from './break-even.ts';
import type { CostGroup, CostReport } from './model.ts';
import type { Prices } from './prices.ts';

/** Dollars as a reader scans them: $1,234.56; amounts under a cent as "<$0.01". */
export function usd(amount: number): string {
  if (amount > 0 && amount < 0.005) return '<$0.01';
  return `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

const whole = (value: number) => Math.round(value).toLocaleString('en-US');
const rate = (value: number) => (value >= 100 ? whole(value) : value.toPrecision(3));

const PATH_NAMES: Record<Cheaper, string> = { ecs: 'ECS', lambda: 'Lambda', equal: 'neither' };

function section(report: CostReport, group: CostGroup, title: string): string[] {
  const lines = report.lines.filter((line) => line.group === group);
  const width = Math.max(...report.lines.map((line) => line.item.length));
  const subtotal = lines.reduce((sum, line) => sum + line.usd, 0);
  return [
    title,
    ...lines.map((line) => `  ${line.item.padEnd(width)}  ${usd(line.usd).padStart(11)}   ${line.basis}`),
    `  ${'subtotal'.padEnd(width)}  ${usd(subtotal).padStart(11)}`,
    '',
  ];
}

/** Changes of the cheaper path listed one by one before the rest are summed up. */
const LISTED_CROSSINGS = 4;

export function formatBreakEven(breakEven: BreakEven, hoursPerMonth: number, fixedTasks: boolean): string[] {
  const lines: string[] = [];
  const { crossings } = breakEven;
  if (crossings.length === 0) {
    const winner = breakEven.throughout === 'equal' ? 'the two paths cost the same' : `the ${PATH_NAMES[breakEven.throughout ?? 'equal']} path is cheaper throughout`;
    lines.push(`Break-even: none in range (${whole(breakEven.range.min)} to ${whole(breakEven.range.max)} orders/month): ${winner}`);
  } else {
    for (const crossing of crossings.slice(0, LISTED_CROSSINGS)) {
      lines.push(
        `Break-even: ${whole(crossing.orders)} orders/month (${rate(crossing.orders / (hoursPerMonth * 3600))}/s): the ${PATH_NAMES[crossing.below]} path is cheaper below, the ${PATH_NAMES[crossing.above]} path from there up`,
      );
    }
    const last = crossings.at(-1);
    if (last && crossings.length > LISTED_CROSSINGS) {
      lines.push(
        `  ... and ${crossings.length - LISTED_CROSSINGS} more changes seen on the grid (each added task costs more than the Lambda saves until the volume grows into it; two changes closer than a grid step go unseen); from ${whole(last.orders)} orders/month up the ${PATH_NAMES[last.above]} path stays cheaper`,
      );
    }
  }
  const tasks = fixedTasks ? 'fixed task counts stay as given, even where they could not keep up' : 'task counts follow the volume';
  lines.push(`  how: ${breakEven.method}; everything but the volume as above (${tasks})`);
  return lines;
}

export function formatPrices(prices: Prices, pricesPath: string): string[] {
  const tiers = (list: { upTo: number | null; price: string }[]) =>
    list.map(({ upTo, price }, index) => `${price} ${index === 0 ? 'up to' : upTo === null ? 'beyond' : 'to'} ${upTo === null ? whole(list[index - 1]?.upTo ?? 0) : whole(upTo)}`).join(', ');
  const rows: [string, string, string][] = [
    ['Fargate', `$${prices.fargate.perVcpuHour} per vCPU-hour, $${prices.fargate.perGbHour} per GB-hour (Linux/x86)`, prices.fargate.source],
    ['ALB', `$${prices.alb.perHour} per hour, $${prices.alb.perLcuHour} per LCU-hour (LCU: ${prices.alb.lcu.newConnectionsPerSecond} new connections/s or ${prices.alb.lcu.processedGbPerHour} GB/hour)`, prices.alb.source],
    ['NAT gateway', `$${prices.natGateway.perHour} per hour, $${prices.natGateway.perGbProcessed} per GB processed`, prices.natGateway.source],
    ['public IPv4', `$${prices.publicIpv4.perAddressHour} per address-hour`, prices.publicIpv4.source],
    ['SQS', `per million requests: ${tiers(prices.sqs.requestTiers.map(({ upTo, perMillion }) => ({ upTo, price: `$${perMillion}` })))}; SNS deliveries counted as requests: ${prices.sqs.snsDeliveryCountsAsRequest ? 'yes' : 'no'}`, prices.sqs.source],
    ['SNS', `$${prices.sns.perMillionPublishes} per million publishes; deliveries per million: to SQS $${prices.sns.perMillionSqsDeliveries}, to Lambda $${prices.sns.perMillionLambdaDeliveries}`, prices.sns.source],
    ['Lambda', `$${prices.lambda.perMillionRequests} per million requests; per GB-second: ${tiers(prices.lambda.gbSecondTiers.map(({ upTo, perGbSecond }) => ({ upTo, price: `$${perGbSecond}` })))} (x86)`, prices.lambda.source],
    [
      'DynamoDB',
      `on demand: $${prices.dynamodb.perMillionWriteRequestUnits} per million write request units, $${prices.dynamodb.perMillionReadRequestUnits} per million read request units; ` +
        `$${prices.dynamodb.perGbMonthStorage} per GB-month stored, point-in-time recovery $${prices.dynamodb.perGbMonthPointInTimeRecovery} per GB-month (as of ${prices.dynamodb.asOf})`,
      prices.dynamodb.source,
    ],
    ['CloudWatch Logs', `$${prices.cloudwatchLogs.perGbIngested} per GB ingested`, prices.cloudwatchLogs.source],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `Prices used: ${prices.region} list prices in ${prices.currency} as of ${prices.asOf}, from ${pricesPath} (edit it to change them)`,
    ...rows.flatMap(([name, text, source]) => [`  ${name.padEnd(width)}  ${text}`, `  ${''.padEnd(width)}  ${source}`]),
  ];
}

/** The whole estimate as text: the three groups of lines, totals, free tier, break-even, prices. */
export function formatReport(report: CostReport, breakEven: BreakEven, prices: Prices, pricesPath: string): string {
  const { inputs, sizing, totals, freeTier } = report;
  const ecsRatio = totals.lambda > 0 ? totals.ecs / totals.lambda : Infinity;
  const cheaper = totals.ecs === totals.lambda ? 'neither: they cost the same' : totals.ecs < totals.lambda ? `ECS, by ${usd(totals.lambda - totals.ecs)} a month` : `Lambda, by ${usd(totals.ecs - totals.lambda)} a month`;
  const credits = (list: { item: string; usd: number }[]) => list.map((credit) => `${credit.item} ${usd(credit.usd)}`).join(', ');
  const out = [
    `ordersync monthly cost: ${whole(inputs.ordersPerMonth)} orders/month (${rate(sizing.averageOrdersPerSecond)}/s on average, ${rate(sizing.peakOrdersPerSecond)}/s at the peak), ${inputs.processingMs} ms of processing per order`,
    `${prices.region} list prices as of ${prices.asOf}; no discounts, taxes or free tier in the totals`,
    '',
    ...section(report, 'shared', `Front door, paid on both paths: ${sizing.receiverTasks} receiver task(s) behind the ALB, NAT gateway, SNS topic`),
    ...section(report, 'ecs', `ECS path: SNS → SQS → ${sizing.processorTasks} processor task(s) × concurrency ${inputs.processorConcurrency} (${rate(sizing.processorTaskCapacity)} orders/s each, ${sizing.pollersPerTask} long polls open per task)`),
    ...section(report, 'lambda', `Lambda path: SNS → Lambda, ${inputs.lambdaMemoryMb} MB, ${sizing.lambdaBilledMs} ms billed per order (about ${rate(sizing.lambdaPeakConcurrency)} concurrent at the peak)`),
    'Totals per month',
    `  ECS path     ${usd(totals.ecs).padStart(11)}   front door ${usd(totals.shared)} + ${usd(totals.ecsOnly)}`,
    `  Lambda path  ${usd(totals.lambda).padStart(11)}   front door ${usd(totals.shared)} + ${usd(totals.lambdaOnly)}   (ECS costs ${ecsRatio.toFixed(2)} × Lambda)`,
    `  cheaper: ${cheaper}`,
    '',
    'Always-free allowances, if the account has them unused (per account; NOT subtracted above)',
    `  ECS path     −${usd(freeTier.ecsUsd)}   ${credits(freeTier.ecs)}`,
    `  Lambda path  −${usd(freeTier.lambdaUsd)}   ${credits(freeTier.lambda)}`,
    '',
    ...formatBreakEven(breakEven, prices.hoursPerMonth, inputs.receiverTasks !== 'auto' || inputs.processorTasks !== 'auto'),
    '',
    ...(report.warnings.length > 0 ? ['Warnings', ...report.warnings.map((warning) => `  ! ${warning}`), ''] : []),
    ...formatPrices(prices, pricesPath),
    '',
    'What the model counts and assumes: docs/cost-model.md',
  ];
  return `${out.join('\n')}\n`;
}
