import { expect } from 'chai';
import { cheaperPath, findBreakEven } from '../../cost/break-even.ts';
import {
  DEFAULT_INPUTS,
  deleteBatchSize,
  emptyPollsPerSecond,
  estimateCosts,
  tieredCost,
  visibilityExtensionsPerOrder,
  type CostInputs,
  type CostReport,
} from '../../cost/model.ts';
import { attributeValueBytes, itemBytes, pathTableUsage, receiverTableUsage, REPRESENTATIVE_ITEMS } from '../../cost/dynamodb.ts';
import { loadMeasuredRequests, parseMeasuredRequests, type MeasuredRequests } from '../../cost/measured.ts';
import { parseCostArgs, parseQuantity } from '../../cost/options.ts';
import { loadPrices, parsePrices, type Prices } from '../../cost/prices.ts';
import { ConfigError } from '../../lib/errors.ts';
import { spawnChild } from '../support/child-process.ts';

/**
 * Fixed prices, so the hand computations below stay true when cost/prices.json is edited
 * (us-east-1 list prices as of 2026-11-25, the values that file was written with; DynamoDB's as
 * of 2026-11-26: on demand $0.625 per million WRU, $0.125 per million RRU, $0.25 per GB-month).
 */
const PRICES: Prices = parsePrices({
  region: 'us-east-1',
  currency: 'USD',
  asOf: '2026-11-25',
  hoursPerMonth: 730,
  fargate: { source: 'https://aws.amazon.com/fargate/pricing/', perVcpuHour: 0.04048, perGbHour: 0.004445 },
  alb: { source: 'https://aws.amazon.com/elasticloadbalancing/pricing/', perHour: 0.0225, perLcuHour: 0.008, lcu: { newConnectionsPerSecond: 25, processedGbPerHour: 1 } },
  natGateway: { source: 'https://aws.amazon.com/vpc/pricing/', perHour: 0.045, perGbProcessed: 0.045 },
  publicIpv4: { source: 'https://aws.amazon.com/vpc/pricing/', perAddressHour: 0.005 },
  sqs: {
    source: 'https://aws.amazon.com/sqs/pricing/',
    requestTiers: [
      { upTo: 100e9, perMillion: 0.4 },
      { upTo: 200e9, perMillion: 0.3 },
      { upTo: null, perMillion: 0.24 },
    ],
    snsDeliveryCountsAsRequest: true,
    free: { requestsPerMonth: 1e6 },
  },
  sns: { source: 'https://aws.amazon.com/sns/pricing/', perMillionPublishes: 0.5, perMillionSqsDeliveries: 0, perMillionLambdaDeliveries: 0, free: { publishesPerMonth: 1e6 } },
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/',
    perMillionRequests: 0.2,
    gbSecondTiers: [
      { upTo: 6e9, perGbSecond: 0.0000166667 },
      { upTo: 15e9, perGbSecond: 0.000015 },
      { upTo: null, perGbSecond: 0.0000133334 },
    ],
    free: { requestsPerMonth: 1e6, gbSecondsPerMonth: 400_000 },
  },
  dynamodb: {
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    asOf: '2026-11-26',
    perMillionWriteRequestUnits: 0.625,
    perMillionReadRequestUnits: 0.125,
    perGbMonthStorage: 0.25,
    perGbMonthPointInTimeRecovery: 0.2,
    free: { storageGbPerMonth: 25 },
  },
  cloudwatchLogs: { source: 'https://aws.amazon.com/cloudwatch/pricing/', perGbIngested: 0.5, free: { gbIngestedPerMonth: 5 } },
});

function line(report: CostReport, item: string): number {
  const found = report.lines.find((entry) => entry.item === item);
  if (!found) throw new Error(`no line "${item}"`);
  return found.usd;
}

function estimate(overrides: Partial<CostInputs> = {}): CostReport {
  return estimateCosts({ ...DEFAULT_INPUTS, ...overrides }, PRICES);
}

describe('cost model', () => {
  describe('the default workload: 10M orders/month, 3000 ms, 256 MB, concurrency 100, 0.25 vCPU / 0.5 GB tasks', () => {
    // 730 h = 2,628,000 s, so 10,000,000 orders are 3.8052 orders/s on average (and at the peak, factor 1).
    const report = estimate();

    it('prices the front door both paths share', () => {
      // One task is enough: ceil(3.8052 / 100 orders/s per receiver task) = 1.
      // Task: 0.25 × $0.04048 + 0.5 × $0.004445 = $0.0123425 per hour; × 730 h = $9.010025.
      expect(report.sizing.receiverTasks).to.equal(1);
      expect(line(report, 'receiver tasks (Fargate)')).to.be.closeTo(9.010025, 1e-9);
      // ALB: 730 h × $0.0225 = $16.425.
      expect(line(report, 'load balancer hours')).to.be.closeTo(16.425, 1e-9);
      // LCUs: new connections dominate: each order is its POST and 1 status request (the default
      // --status-reads), 2 × 3.8052 / 25 = 0.30441 LCU (bytes: 3.8052 × 3600 × 2 KiB = 0.02613 GB/h).
      // 0.30441 × 730 h × $0.008 = 2 × 10,000,000 × 0.008 / (3600 × 25) = $1.777778.
      expect(line(report, 'load balancer LCUs')).to.be.closeTo(1.777778, 1e-6);
      // NAT: 730 × $0.045 = $32.85. Public IPv4: (2 ALB + 1 NAT) × 730 × $0.005 = $10.95.
      expect(line(report, 'NAT gateway hours')).to.be.closeTo(32.85, 1e-9);
      expect(line(report, 'public IPv4 addresses')).to.be.closeTo(10.95, 1e-9);
      // SNS: 10 million publishes × $0.50 = $5.00.
      expect(line(report, 'SNS publishes')).to.be.closeTo(5, 1e-9);
      // Receiver logs: 10M × 325 B = 3.026798 GB × $0.50 = $1.513399.
      expect(line(report, 'receiver logs (CloudWatch)')).to.be.closeTo(1.513399, 1e-6);
      // Orders table, the receiver's part: per order 1 accepted record written (BatchWriteItem bills
      // each item: 1 WRU up to 1 KB), no read: writes 10M × $0.625 / million = $6.25.
      expect(line(report, 'orders table writes (receiver)')).to.be.closeTo(6.25, 1e-9);
      // Its status request: one consistent Query of the order's records (under 4 KB), 1 RRU:
      //   10M × $0.125 / million = $1.25.
      expect(line(report, 'orders table reads (receiver)')).to.be.closeTo(1.25, 1e-9);
      // Storage: (297 B item + 100 B overhead) × 10M = 3.97e9 B = 3.697351 GB, kept 30 of 730 / 24 = 30.416667 days
      //   (× 0.986301) = 3.646702 GB-months × $0.25 = $0.911675.
      expect(line(report, 'orders table storage (accepted records)')).to.be.closeTo(0.911675, 1e-6);
      // NAT data: per order 1 publishing call (without a measurement) × 800 B + 1,200 B publish +
      //   325 B log = 2,325 B (the table's calls take the gateway endpoint); × 10M = 21.653184 GB
      //   × $0.045 = $0.974393.
      expect(line(report, 'NAT data: publishes, receiver logs')).to.be.closeTo(0.974396, 1e-6);
      // Sum: 9.010025 + 16.425 + 1.777778 + 32.85 + 10.95 + 5 + 1.513399 + 6.25 + 1.25 + 0.911675 + 0.974396 = $86.912273.
      expect(report.totals.shared).to.be.closeTo(86.912273, 1e-5);
    });

    it('prices the ECS path, counting the empty long polls', () => {
      // Capacity per task: min(100 × 0.9 / 3 s = 30 orders/s, 150) = 30; ceil(3.8052 / 30) = 1 task, $9.010025.
      expect(report.sizing.processorTaskCapacity).to.equal(30);
      expect(line(report, 'processor tasks (Fargate)')).to.be.closeTo(9.010025, 1e-9);
      // SQS requests:
      //   SNS deliveries 10,000,000; receives 10,000,000 (1 message per receive);
      //   deletes: batch 1 + 3.8052 × 0.05 s = 1.190259, so 10M / 1.190259 = 8,401,535;
      //   empty long polls: 10 pollers, each fed 0.38052/s; x = 0.38052 × 20 s = 7.6104, e^-x = 4.9521e-4;
      //     per poller 0.38052 × 4.9521e-4 / (1 − 4.9521e-4) = 1.8853e-4 /s; × 10 × 2,628,000 s = 4,955;
      //   visibility extensions: floor(3000 / 15000) = 0.
      // Total 28,406,490 × $0.40 / million = $11.3626.
      const sqs = report.sizing.sqsRequests;
      expect(sqs.deletes).to.be.closeTo(8_401_535, 1);
      expect(sqs.emptyReceives).to.be.closeTo(4955, 1);
      expect(sqs.visibilityExtensions).to.equal(0);
      expect(line(report, 'SQS requests')).to.be.closeTo(11.3626, 1e-4);
      expect(line(report, 'SNS → SQS deliveries')).to.equal(0);
      // Processor logs: 10M × 450 B = 4.19095 GB × $0.50 = $2.095476.
      expect(line(report, 'processor logs (CloudWatch)')).to.be.closeTo(2.095476, 1e-6);
      // Orders table, the ECS path: per delivery the claim and the completion, 1 WRU each (the
      //   record is 208 B claimed, 531 B processed): 20M WRU × $0.625 / million = $12.50.
      expect(line(report, 'orders table writes (ECS claims, completions)')).to.be.closeTo(12.5, 1e-9);
      // Storage: (531 + 100) B × 10M = 5.876645 GB × 0.986301 = 5.796143 GB-months × $0.25 = $1.449036.
      expect(line(report, 'orders table storage (ECS path records)')).to.be.closeTo(1.449036, 1e-6);
      // NAT data: (10M + 4,955 + 8,401,535) SQS calls × 800 B + 10M × (700 + 450 + 450 log) B
      //   = 14.725192e9 + 16e9 = 30.725192e9 B = 28.615158 GB × $0.045 = $1.287682 (the claims and
      //   completions take the gateway endpoint).
      expect(line(report, 'NAT data: SQS calls, processor logs')).to.be.closeTo(1.287678, 1e-4);
      // 9.010025 + 11.3626 + 0 + 2.095476 + 12.5 + 1.449036 + 1.287678 = $37.7048; with the front door $124.6171.
      expect(report.totals.ecsOnly).to.be.closeTo(37.7048, 1e-3);
      expect(report.totals.ecs).to.be.closeTo(124.6171, 1e-3);
    });

    it('prices the Lambda path, with SNS → Lambda deliveries free', () => {
      // Requests: 10M × $0.20 / million = $2.00.
      expect(line(report, 'Lambda requests')).to.be.closeTo(2, 1e-9);
      // Duration: 10M × 0.25 GB × 3.000 s = 7,500,000 GB-s × $0.0000166667 = $125.00025.
      expect(report.sizing.lambdaGbSeconds).to.equal(7_500_000);
      expect(line(report, 'Lambda duration')).to.be.closeTo(125.00025, 1e-6);
      expect(line(report, 'SNS → Lambda deliveries')).to.equal(0);
      // Logs: 10M × 850 B = 7.91624 GB × $0.50 = $3.958121.
      expect(line(report, 'Lambda logs (CloudWatch)')).to.be.closeTo(3.958121, 1e-6);
      // Orders table: the claim and the completion as on the ECS path, $12.50; the record is 537 B
      //   (path#lambda and "lambda" in the result: 6 B more): (537 + 100) B × 10M = 5.932525 GB
      //   × 0.986301 = 5.851257 GB-months × $0.25 = $1.462814. The function is outside the VPC: no NAT.
      expect(line(report, 'orders table writes (Lambda claims, completions)')).to.be.closeTo(12.5, 1e-9);
      expect(line(report, 'orders table storage (Lambda path records)')).to.be.closeTo(1.462814, 1e-6);
      // 2 + 125.00025 + 0 + 3.958121 + 12.5 + 1.462814 = $144.921185; with the front door $231.833458.
      expect(report.totals.lambda).to.be.closeTo(231.833458, 1e-4);
    });

    it('shows the free tier beside the totals without subtracting it', () => {
      // ECS: SQS 1M × $0.40/M = $0.40; SNS 1M × $0.50/M = $0.50; logs min(3.03 + 4.19, 5) GB × $0.50 = $2.50;
      //   DynamoDB storage min(3.646702 + 5.796143, 25) GB-months × $0.25 = $2.360711.
      expect(report.freeTier.ecsUsd).to.be.closeTo(3.4 + 2.360711, 1e-6);
      // Lambda: 1M × $0.20/M = $0.20; 400,000 GB-s × $0.0000166667 = $6.66668; SNS $0.50; logs $2.50;
      //   DynamoDB storage (3.646702 + 5.851257) × $0.25 = $2.37449.
      expect(report.freeTier.lambdaUsd).to.be.closeTo(9.86668 + 2.37449, 1e-6);
      const linesSum = report.lines.reduce((sum, entry) => sum + entry.usd, 0);
      expect(report.totals.ecs + report.totals.lambdaOnly).to.be.closeTo(linesSum, 1e-9);
    });
  });

  it('sizes fixed and auto task counts for the peak, and warns when a fixed count is short', () => {
    // 1e9 orders/month = 380.52/s; peak factor 2 = 761.04/s.
    //   receivers: ceil(761.04 / 100) = 8; processors at 1000 ms: min(100 × 0.9 / 1 s, 150) = 90/s, ceil(761.04 / 90) = 9.
    const auto = estimate({ ordersPerMonth: 1e9, processingMs: 1000, peakFactor: 2 });
    expect(auto.sizing).to.include({ receiverTasks: 8, processorTasks: 9 });
    // Nine processor tasks: 9 × $9.010025 = $81.090225.
    expect(line(auto, 'processor tasks (Fargate)')).to.be.closeTo(81.090225, 1e-6);
    // At 0 ms the CPU caps a processor task at 150 orders/s: ceil(761.04 / 150) = 6.
    expect(estimate({ ordersPerMonth: 1e9, processingMs: 0, peakFactor: 2 }).sizing).to.include({ processorTaskCapacity: 150, processorTasks: 6 });
    const fixed = estimate({ ordersPerMonth: 1e9, processingMs: 1000, peakFactor: 2, processorTasks: 2, receiverTasks: 3 });
    expect(fixed.sizing).to.include({ receiverTasks: 3, processorTasks: 2 });
    expect(fixed.warnings.join('\n')).to.contain('3 receiver task(s) cannot take the peak').and.contain('about 9 are needed');
    // Lambda at the peak: 761.04/s × 1 s = 761 concurrent: under the 1,000 quota; at 3 s it is 2,283, over it.
    expect(auto.warnings.join('\n')).not.to.contain('concurrent executions');
    expect(estimate({ ordersPerMonth: 1e9, peakFactor: 2 }).warnings.join('\n')).to.contain('about 2284 concurrent executions');
  });

  it('counts visibility extensions and leaves the NAT out when there is none', () => {
    // 40 s per order, heartbeat every 15 s: extensions at 15 s and 30 s, 2 per order.
    expect(visibilityExtensionsPerOrder(40_000, 30)).to.equal(2);
    const report = estimate({ ordersPerMonth: 1_000_000, processingMs: 40_000, natGateways: 0 });
    expect(report.sizing.sqsRequests.visibilityExtensions).to.equal(2_000_000);
    expect(line(report, 'NAT gateway hours')).to.equal(0);
    expect(line(report, 'NAT data: SQS calls, processor logs')).to.equal(0);
    // Public IPv4: the ALB's 2 addresses only: 2 × 730 × $0.005 = $7.30.
    expect(line(report, 'public IPv4 addresses')).to.be.closeTo(7.3, 1e-9);
  });

  it('bills Lambda at least 1 ms, rounded up, with the overhead added', () => {
    // 0 ms work → 1 ms billed; 1,000,000 × 0.125 GB × 0.001 s = 125 GB-s × $0.0000166667 = $0.00208.
    const idle = estimate({ ordersPerMonth: 1_000_000, processingMs: 0, lambdaMemoryMb: 128 });
    expect(idle.sizing.lambdaBilledMs).to.equal(1);
    expect(line(idle, 'Lambda duration')).to.be.closeTo(0.00208334, 1e-8);
    expect(estimate({ processingMs: 200, lambdaOverheadMs: 2.5 }).sizing.lambdaBilledMs).to.equal(203);
  });

  it('fills price tiers in order', () => {
    const tiers = [
      { upTo: 10, perUnit: 3 },
      { upTo: 30, perUnit: 2 },
      { upTo: null, perUnit: 1 },
    ];
    // 10 × 3 + 20 × 2 + 5 × 1 = 75.
    expect(tieredCost(35, tiers)).to.equal(75);
    expect(tieredCost(4, tiers)).to.equal(12);
    expect(tieredCost(0, tiers)).to.equal(0);
    // Lambda beyond 6 billion GB-s: 6e9 × $0.0000166667 + 1e9 × $0.000015 = $100,000.2 + $15,000 = $115,000.2.
    const big = estimate({ ordersPerMonth: 7e9, processingMs: 1000, lambdaMemoryMb: 1024 });
    expect(line(big, 'Lambda duration')).to.be.closeTo(115_000.2, 1e-3);
  });

  it('models idle polling and delete batching from the consumer’s own rules', () => {
    // No orders: each of the pollers comes back empty every 20 s.
    expect(emptyPollsPerSecond(0, 20)).to.equal(0.05);
    // A busy poller almost never comes back empty.
    expect(emptyPollsPerSecond(50, 20)).to.be.below(1e-100);
    // A task with no orders: 10 pollers × 0.05/s × 2,628,000 s = 1,314,000 empty receives a month.
    expect(estimate({ ordersPerMonth: 0 }).sizing.sqsRequests.emptyReceives).to.be.closeTo(1_314_000, 1e-6);
    // Concurrency 15 → ceil(15 / 10) = 2 pollers: 2 × 0.05 × 2,628,000 = 262,800.
    expect(estimate({ ordersPerMonth: 0, processorConcurrency: 15 }).sizing.sqsRequests.emptyReceives).to.be.closeTo(262_800, 1e-6);
    // Deletes: 1 + rate × 50 ms, at most the SQS batch limit of 10.
    expect(deleteBatchSize(0)).to.equal(1);
    expect(deleteBatchSize(100)).to.equal(6);
    expect(deleteBatchSize(1000)).to.equal(10);
  });
});

describe('the orders table (DynamoDB on demand)', () => {
  it('sizes items as DynamoDB bills them', () => {
    // Strings: their UTF-8 bytes; numbers: 1 byte per 2 significant digits (leading and trailing
    // zeros trimmed) + 1; booleans and null: 1; maps and lists: 3 + per element 1 + key + value.
    expect(attributeValueBytes({ S: 'accepted' })).to.equal(8);
    expect(attributeValueBytes({ S: 'é' })).to.equal(2);
    expect(attributeValueBytes({ N: '1795664585123' })).to.equal(8); // 13 digits: 7 + 1
    expect(attributeValueBytes({ N: '3030' })).to.equal(3); // "303": 2 + 1
    expect(attributeValueBytes({ N: '123.45' })).to.equal(4); // "12345": 3 + 1
    expect(attributeValueBytes({ N: '0.005' })).to.equal(2); // "5": 1 + 1
    expect(attributeValueBytes({ BOOL: true })).to.equal(1);
    expect(attributeValueBytes({ M: { path: { S: 'ecs' } } })).to.equal(3 + 1 + 4 + 3);
    expect(attributeValueBytes({ L: [{ N: '1' }, { N: '2' }] })).to.equal(3 + 2 * (1 + 2));
  });

  it('counts the records the store writes: 297 B accepted, 208 B claimed, 531 B processed (537 B on the Lambda path)', () => {
    // accepted: order_id 8 + 36, record 6 + 45 ("accepted#" and the message id), body_sha256 11 + 64,
    //   request_id 10 + 36, accepted_at 11 + 8 (13 digits), message_id 10 + 36, expires_at 10 + 6 (10 digits) = 297.
    expect(itemBytes(REPRESENTATIVE_ITEMS.accepted)).to.equal(297);
    // claimed: order_id 44, record 6 + 8 ("path#ecs"), status 6 + 10, claim_token 11 + 36,
    //   lease_until 11 + 8, claimed_at 10 + 8, attempts 8 + 2, first_claimed_at 16 + 8, expires_at 16 = 208.
    expect(itemBytes(REPRESENTATIVE_ITEMS.claimed('ecs'))).to.equal(208);
    // processed: the claimed record without lease_until (−19), status "processed" (−1), + processed_at 12 + 8,
    //   processing_ms 13 + 3, body_sha256 11 + 64, result 6 + 226 (a map of 10 entries: 3 + 223) = 531;
    //   "lambda" twice: + 6.
    expect(itemBytes(REPRESENTATIVE_ITEMS.processed('ecs'))).to.equal(531);
    expect(itemBytes(REPRESENTATIVE_ITEMS.processed('lambda'))).to.equal(537);
  });

  it('bills the receiver 1 WRU per order and each path 2 WRU, storing each record with 100 B of overhead', () => {
    expect(receiverTableUsage()).to.include({ writeUnits: 1, readUnits: 0, storedBytes: 397 });
    expect(pathTableUsage('ecs')).to.include({ writeUnits: 2, readUnits: 0, storedBytes: 631 });
    expect(pathTableUsage('lambda')).to.include({ writeUnits: 2, readUnits: 0, storedBytes: 637 });
    // 1M orders: receiver $0.625, each path $1.25 in writes; no reads.
    const report = estimate({ ordersPerMonth: 1_000_000 });
    expect(line(report, 'orders table writes (receiver)')).to.be.closeTo(0.625, 1e-12);
    expect(line(report, 'orders table writes (ECS claims, completions)')).to.be.closeTo(1.25, 1e-12);
    expect(line(report, 'orders table writes (Lambda claims, completions)')).to.be.closeTo(1.25, 1e-12);
  });

  it('counts each status request as a load balancer request and one read of the order\'s records (--status-reads)', () => {
    // None: no read line, and the load balancer sees the POSTs only: 10M × 0.008 / (3600 × 25) = $0.888889.
    const none = estimate({ statusReadsPerOrder: 0 });
    expect(none.lines.find((entry) => entry.item === 'orders table reads (receiver)')).to.equal(undefined);
    expect(line(none, 'load balancer LCUs')).to.be.closeTo(0.888889, 1e-6);
    // Three: 30M RRU × $0.125 / million = $3.75; 4 requests per order through the load balancer, $3.555556.
    const three = estimate({ statusReadsPerOrder: 3 });
    expect(line(three, 'orders table reads (receiver)')).to.be.closeTo(3.75, 1e-9);
    expect(line(three, 'load balancer LCUs')).to.be.closeTo(3.555556, 1e-6);
    expect(parseCostArgs(['--status-reads', '0']).inputs.statusReadsPerOrder).to.equal(0);
    expect(() => parseCostArgs(['--status-reads', '-1'])).to.throw('--status-reads');
  });

  it('adds point-in-time recovery to the storage when asked (a prod stage)', () => {
    // Accepted records at 10M orders: 3.646702 GB-months × ($0.25 + $0.20) = $1.641016.
    const report = estimate({ pointInTimeRecovery: true });
    expect(line(report, 'orders table storage (accepted records)')).to.be.closeTo(1.641016, 1e-6);
    expect(report.lines.find((entry) => entry.item === 'orders table storage (accepted records)')?.basis).to.contain('with point-in-time recovery');
    expect(parseCostArgs(['--pitr']).inputs.pointInTimeRecovery).to.equal(true);
  });
});

describe('requests per order measured by npm run bench', () => {
  const measured: MeasuredRequests = parseMeasuredRequests({
    measuredAt: '2026-11-27T10:00:00.000Z',
    command: 'npm run bench',
    machine: 'test machine, 2 cores, Node v24',
    loadAverage: [1, 1, 1],
    sns: { source: 'receiver', connections: 50, orders: 15_000, calls: { PublishBatch: 1500 }, publishCallsPerOrder: 0.1 },
    sqs: { source: 'processor', concurrency: 100, handlerMs: 1000, orders: 500, efficiency: 0.98, calls: { ReceiveMessage: 60, DeleteMessageBatch: 50, ChangeMessageVisibilityBatch: 10 }, receivesPerOrder: 0.12, deletesPerOrder: 0.1, visibilityChangesPerOrder: 0.02 },
  });

  it('takes SNS publishes, receives, deletes and visibility changes per order from the measurement', () => {
    // 10M orders at 1000 ms (within the measured handler time), 1 processor task (ceil(3.8052 / min(100 × 0.9 / 1 s, 150)) = 1).
    const report = estimate({ processingMs: 1000, measuredRequests: measured });
    // SNS: 10M × 0.1 = 1M publishing calls × $0.50/M = $0.50 (1 per order would be $5.00).
    expect(report.lines.find((entry) => entry.item === 'SNS publishes')?.quantity).to.be.closeTo(1_000_000, 1e-6);
    expect(line(report, 'SNS publishes')).to.be.closeTo(0.5, 1e-9);
    // SQS: receives 10M × 0.12 = 1.2M, deletes 10M × 0.1 = 1M, visibility 10M × 0.02 = 200k.
    expect(report.sizing.sqsRequests.receives).to.be.closeTo(1_200_000, 1e-6);
    expect(report.sizing.sqsRequests.deletes).to.be.closeTo(1_000_000, 1e-6);
    expect(report.sizing.sqsRequests.visibilityExtensions).to.be.closeTo(200_000, 1e-6);
    // NAT for the front door: per order 0.1 publishes × 800 B + 1,200 B + 325 B = 1,605 B;
    //   × 10M = 14.947802 GB × $0.045 = $0.672651.
    expect(line(report, 'NAT data: publishes, receiver logs')).to.be.closeTo((1605e7 / 2 ** 30) * 0.045, 1e-9);
    expect(report.lines.find((entry) => entry.item === 'SNS publishes')?.basis).to.contain('measured by npm run bench on 2026-11-27 at 50 connections');
  });

  it('models visibility changes past the handler time it measured, and everything without a measurement', () => {
    // 40 s per order is past the 1000 ms measured: the rule, 2 heartbeats per order (at 15 s and 30 s).
    const long = estimate({ ordersPerMonth: 1_000_000, processingMs: 40_000, measuredRequests: measured });
    expect(long.sizing.sqsRequests.visibilityExtensions).to.equal(2_000_000);
    expect(long.sizing.sqsRequests.receives).to.be.closeTo(120_000, 1e-6);
    // Without the receiver's part, SNS publishes stay at 1 per order.
    const noSns = estimate({ processingMs: 1000, measuredRequests: { ...measured, sns: null } });
    expect(line(noSns, 'SNS publishes')).to.be.closeTo(5, 1e-9);
  });

  it('reads the measured file, refusing a malformed one by name', () => {
    expect(() => parseMeasuredRequests({ ...measured, sns: { ...measured.sns, publishCallsPerOrder: -1 } }, 'bad.json'))
      .to.throw(ConfigError)
      .with.property('message')
      .that.contains('invalid measured-requests file bad.json')
      .and.contains('sns.publishCallsPerOrder');
    expect(loadMeasuredRequests('/nonexistent/measured-requests.json')).to.equal(undefined);
  });
});

describe('break-even', () => {
  it('finds where the ECS path becomes cheaper at the default workload', () => {
    // By hand: the front door is the same on both paths and cancels out, and so do the orders table's
    // writes (2 WRU per order on either path) and, nearly, its storage (631 B against 637 B).
    //   Lambda per order: $0.20/M + 0.75 GB-s × $0.0000166667 + 850 B logs ($3.958e-7) = $1.3096e-5.
    //   ECS per order: about 3 SQS requests ($1.2e-6) + 450 B logs ($2.10e-7) + ~4,000 B NAT ($1.68e-7)
    //     = $1.578e-6 (the table's calls take the gateway endpoint, not the NAT).
    //   ECS fixed: one processor task $9.01 + ~0.95M empty polls at that volume ($0.38) + their NAT ($0.03) = $9.42.
    //   9.42 / (1.3096e-5 − 1.578e-6) ≈ 818,000 orders/month.
    const found = findBreakEven({ ...DEFAULT_INPUTS }, PRICES);
    expect(found.crossings).to.have.length(1);
    const [crossing] = found.crossings;
    expect(crossing).to.include({ below: 'lambda', above: 'ecs' });
    expect(crossing?.orders).to.be.within(818_000 * 0.98, 818_000 * 1.02);
    // It is exact to one order: the cheaper path changes right there.
    const orders = crossing?.orders ?? 0;
    expect(cheaperPath(DEFAULT_INPUTS, PRICES, orders - 1)).to.equal('lambda');
    expect(cheaperPath(DEFAULT_INPUTS, PRICES, orders)).to.equal('ecs');
    expect(found.method).to.contain('bisected');
  });

  it('says "none" when one path wins across the range', () => {
    // At 0 ms the Lambda costs $0.20/M + 1 ms billed + logs ≈ $6.0e-7 per order; the ECS path pays
    // more than that per order in SQS requests alone (≥ 2.1 × $0.40/M), on top of a fixed task.
    const found = findBreakEven({ ...DEFAULT_INPUTS, processingMs: 0 }, PRICES);
    expect(found.crossings).to.deep.equal([]);
    expect(found.throughout).to.equal('lambda');
  });

  it('finds every change when task steps make the cheaper path flip back', () => {
    // 0.25 vCPU tasks at concurrency 1 and 20 s per order: each task clears 0.045 orders/s (118k a month)
    // for $9.01, so ECS costs ~$76 per million orders against the Lambda's $83: every added task
    // makes Lambda cheaper for a while, then ECS again.
    const found = findBreakEven({ ...DEFAULT_INPUTS, processingMs: 20_000, processorConcurrency: 1 }, PRICES, { minOrders: 100_000, maxOrders: 2_000_000, pointsPerDecade: 400 });
    expect(found.crossings.length).to.be.greaterThan(2);
    for (const crossing of found.crossings) expect(crossing.below).not.to.equal(crossing.above);
  });
});

describe('cost flags', () => {
  it('takes every flag, with counts written several ways', () => {
    expect(parseQuantity('10_000_000')).to.equal(1e7);
    expect(parseQuantity('10,000,000')).to.equal(1e7);
    expect(parseQuantity('1e7')).to.equal(1e7);
    expect(parseQuantity('10M')).to.equal(1e7);
    expect(parseQuantity('2.5k')).to.equal(2500);
    expect(parseQuantity('ten')).to.be.NaN;
    const { inputs } = parseCostArgs([
      '--orders', '25M', '--processing-ms', '500', '--memory-mb', '512', '--concurrency', '50',
      '--receiver-tasks', '2', '--processor-tasks', 'auto', '--task-vcpu', '1', '--peak-factor', '3',
      '--receive-batch', '2.5', '--nat-gateways', '2', '--efficiency', '0.8', '--lambda-overhead-ms', '3',
    ]);
    expect(inputs).to.include({
      ordersPerMonth: 25e6, processingMs: 500, lambdaMemoryMb: 512, processorConcurrency: 50, receiverTasks: 2,
      processorTasks: 'auto', taskVcpu: 1, taskMemoryGb: 2, peakFactor: 3, receiveBatch: 2.5, natGateways: 2,
      processorEfficiency: 0.8, lambdaOverheadMs: 3,
    });
    expect(parseCostArgs(['--modelled-requests']).inputs).to.deep.equal(DEFAULT_INPUTS);
    // No measured file: the model's own rules, the defaults.
    expect(parseCostArgs([], '/nonexistent/measured-requests.json').inputs).to.deep.equal(DEFAULT_INPUTS);
    expect(parseCostArgs(['-h']).help).to.equal(true);
  });

  function problems(argv: string[]): string {
    try {
      parseCostArgs(argv);
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error(`accepted ${argv.join(' ')}`);
  }

  it('names every bad value at once, in plain words', () => {
    const message = problems(['--orders', 'lots', '--memory-mb', '64', '--processor-tasks', '0', '--efficiency', '0']);
    expect(message).to.contain('--orders must be a whole number from 0 to 1,000,000,000,000 (got "lots")');
    expect(message).to.contain('--memory-mb must be a whole number from 128 to 10,240 (got "64")');
    expect(message).to.contain('--processor-tasks must be "auto" or a whole number from 1 to 1,000 (got "0")');
    expect(message).to.contain('--efficiency must be a number above 0 to 1 (got "0")');
    expect(problems(['--processing-ms', '1.5'])).to.contain('--processing-ms must be a whole number');
  });

  it('accepts only Fargate task sizes', () => {
    expect(problems(['--task-vcpu', '0.3'])).to.contain('--task-vcpu must be one of 0.25, 0.5, 1, 2, 4, 8, 16');
    expect(problems(['--task-memory-gb', '4'])).to.contain('--task-memory-gb 4 is not a Fargate size for 0.25 vCPU: choose 0.5, 1, 2 GB');
    expect(problems(['--task-vcpu', '8', '--task-memory-gb', '18'])).to.contain('choose 16 to 60 in steps of 4 GB');
    expect(parseCostArgs(['--task-vcpu', '0.5', '--task-memory-gb', '3']).inputs).to.include({ taskVcpu: 0.5, taskMemoryGb: 3 });
  });

  it('explains unknown flags, missing values and stray words', () => {
    expect(problems(['--order', '5'])).to.equal('unknown option --order');
    expect(problems(['--orders'])).to.equal('--orders needs a value');
    expect(problems(['--json=yes'])).to.equal('--json takes no value');
    expect(problems(['5000'])).to.equal('unexpected argument 5000: every value follows its --flag');
  });
});

describe('price file', () => {
  it('cost/prices.json is valid and dated', () => {
    const prices = loadPrices();
    expect(prices.region).to.equal('us-east-1');
    expect(prices.asOf).to.match(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('names what is wrong in a bad price file', () => {
    const broken = { ...PRICES, fargate: { ...PRICES.fargate, perVcpuHour: -1 }, sqs: { ...PRICES.sqs, requestTiers: [{ upTo: 5, perMillion: 0.4 }] } };
    expect(() => parsePrices(broken, 'broken.json'))
      .to.throw(ConfigError)
      .with.property('message')
      .that.contains('invalid price file broken.json')
      .and.contains('fargate.perVcpuHour')
      .and.contains('sqs.requestTiers: only the last tier has "upTo": null');
    expect(() => loadPrices('/nonexistent/prices.json')).to.throw(ConfigError, 'cannot read the price file /nonexistent/prices.json: ENOENT');
  });
});

describe('npm run cost', function () {
  this.timeout(30_000);

  async function run(args: string[]) {
    const child = spawnChild(process.execPath, ['--import', 'tsx', 'scripts/cost.ts', ...args], {});
    const { code } = await child.exited;
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  }

  it('prints both paths, the break-even and the prices', async () => {
    const { code, stdout } = await run(['--orders', '10M', '--processing-ms', '3000']);
    expect(code).to.equal(0);
    expect(stdout).to.contain('ECS path').and.contain('Lambda path').and.contain('Break-even: ').and.contain('as of 2026-11-25');
    expect(stdout).to.contain('https://aws.amazon.com/lambda/pricing/');
    expect(stdout).to.contain('orders table writes (receiver)').and.contain('https://aws.amazon.com/dynamodb/pricing/on-demand/').and.contain('(as of 2026-11-26)');
  });

  it('answers a bad flag with a plain message and status 2', async () => {
    const { code, stderr } = await run(['--orders', 'lots']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('--orders must be a whole number').and.contain('--help');
    expect(stderr).not.to.match(/\n\s+at /);
  });

  it('--help documents every flag', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).to.equal(0);
    for (const flag of ['--orders', '--processing-ms', '--memory-mb', '--concurrency', '--receiver-tasks', '--processor-tasks', '--pitr', '--prices', '--json']) {
      expect(stdout).to.contain(flag);
    }
  });
});
