import { expect } from 'chai';
import { consoleTable, lambdaLogFile, markdownTables, observations } from '../../scripts/experiment/report.ts';
import { drainTimeoutMs, lambdaConfiguration, type ConfigurationResult, type ExperimentSettings } from '../../scripts/experiment/run-configuration.ts';
import { percentiles } from '../../scripts/experiment/statistics.ts';
import { legendLayout } from '../../scripts/experiment/svg-charts.ts';

const settings: ExperimentSettings = { rate: 50, durationMs: 20_000, processingMs: 1000 };

function result(overrides: Partial<ConfigurationResult>): ConfigurationResult {
  return {
    configuration: { label: 'ecs×20', path: 'ecs', workers: 20 },
    settings,
    sent: 1000,
    accepted: 1000,
    rejected: 0,
    acceptedPerSecond: 50,
    processedPerSecond: 20,
    capacityPerSecond: 20,
    backlogAtEnd: 600,
    samples: [],
    endToEndMs: percentiles([1000, 5000, 9000]),
    acceptMs: percentiles([5]),
    receiveCounts: { '1': 1000 },
    lost: 0,
    duplicated: 0,
    effects: 1000,
    deliveries: 1000,
    duplicates: 0,
    injectedDuplicates: 0,
    drainMs: 4000,
    drained: true,
    ...overrides,
  };
}

const throttledLambda = result({
  configuration: lambdaConfiguration(20),
  processedPerSecond: 17.5,
  backlogAtEnd: 580,
  drainMs: 52_300,
  lambda: {
    concurrencyLimit: 20,
    reserved: true,
    reports: {
      invocations: 1000,
      coldStarts: 20,
      coldStartShare: 0.02,
      initDurationMs: { p50: 297.91, p90: 500, p99: 750.51, max: 750.51 },
      durationMs: { p50: 1002, p99: 1100 },
      maxMemoryUsedMb: 21,
      memorySizeMb: 256,
    },
    coldStarts: 20,
    throttles: 2900,
    peakBusy: 20,
    peakEnvironments: 20,
    invocations: 1000,
    errors: 0,
    peakBacklog: 610,
  },
});

describe('experiment report', () => {
  it('labels the Lambda configurations by their limit: unreserved (the account) or reserved', () => {
    expect(lambdaConfiguration(undefined)).to.deep.equal({ label: 'lambda', path: 'lambda', workers: 1000 });
    expect(lambdaConfiguration(20)).to.deep.equal({ label: 'lambda×20', path: 'lambda', workers: 20, reservedConcurrency: 20 });
    expect(lambdaLogFile('lambda')).to.equal('lambda.log');
    expect(lambdaLogFile('lambda×20')).to.equal('lambda-x20.log');
  });

  it("gives the Lambda's drain time for throttled events to come back after Lambda's longest backoff (5 minutes), twice", () => {
    expect(drainTimeoutMs({ label: 'ecs×20', path: 'ecs', workers: 20 }, settings)).to.equal(70_000);
    expect(drainTimeoutMs(lambdaConfiguration(20), settings)).to.equal(70_000 + 600_000);
  });

  it('puts the Lambda figures in a second table: limit, cold starts, init percentiles, peaks, throttles, backlog', () => {
    const results = [result({}), throttledLambda];
    const markdown = markdownTables(results);
    expect(markdown).to.contain('| configuration | limit | invocations | cold starts | init p50 ms | init p99 ms | peak concurrent | peak environments | throttles | peak backlog |');
    expect(markdown).to.contain('| lambda×20 | 20 reserved | 1000 | 20 | 297.9 | 750.5 | 20 | 20 | 2900 | 610 |');
    expect(markdown).to.match(/\| ecs×20 \| 20 \| 20 \| 50 \| 50 \| 20 \| 1 \| 600 \| 5000 \| 9000 \| 9000 \| 4 \| 0 \| 1000 \| 1000 \| 0 \| 0 \| 0 \|/);
    expect(consoleTable(results).split('\n')).to.have.length(6); // header and two rows, a blank line, header and the Lambda's row
    expect(consoleTable([result({})])).not.to.contain('cold starts');
  });

  it('says in the observations when the Lambda was throttled, and how its backlog drained', () => {
    const [ecs, lambda] = observations([result({}), throttledLambda]);
    expect(ecs).to.contain('took 4 s to drain after scaling out');
    expect(ecs).not.to.contain('cold start');
    expect(lambda).to.contain('took 52.3 s to drain as the throttled events came back by themselves');
    expect(lambda).to.contain('20 cold starts (Init Duration p50 297.9 ms, p99 750.5 ms)');
    expect(lambda).to.contain('at most 20 concurrent environments of its reserved concurrency of 20');
    expect(lambda).to.contain('THROTTLED 2900 times');
    expect(lambda).to.contain('all 1000 accepted orders processed exactly once');
    const [unthrottled] = observations([
      result({
        configuration: lambdaConfiguration(undefined),
        capacityPerSecond: 1000,
        processedPerSecond: 50,
        backlogAtEnd: 0,
        lambda: { ...(throttledLambda.lambda as NonNullable<ConfigurationResult['lambda']>), concurrencyLimit: 1000, reserved: false, throttles: 0, peakBusy: 52 },
      }),
    ]);
    expect(unthrottled).to.contain("at most 52 concurrent environments of the account's 1000, no throttle");
    const [stuck] = observations([result({ drained: false, drainMs: 70_000 })]);
    expect(stuck).to.contain('was NOT drained after 70 s');
    // Slow cold starts: fewer processed than offered, no queue, the orders held in environments starting.
    const [starting] = observations([
      result({
        configuration: lambdaConfiguration(undefined),
        capacityPerSecond: 1000,
        processedPerSecond: 35.89,
        backlogAtEnd: 0,
        samples: [{ t: 19.9, window: true, backlog: 0, inFlight: 160, processed: 700 }, { t: 20.4, window: false, backlog: 0, inFlight: 90, processed: 800 }],
      }),
    ]);
    expect(starting).to.contain('processed 35.89/s of the 50/s offered (capacity 1000/s) with no backlog: the rest were in flight (160 at the end of the window), not queued');
  });
});

describe('experiment counts: effects, deliveries, duplicates', () => {
  // A run where 5 of the 1000 accepted orders were published twice: 1000 effects (one processed
  // record each), 1005 deliveries, 5 of them duplicates, none lost, none processed twice.
  const withDuplicates = result({ effects: 1000, deliveries: 1005, duplicates: 5, injectedDuplicates: 5 });

  it('puts them in the table, separately, the injected copies beside the duplicates', () => {
    expect(markdownTables([withDuplicates])).to.contain('| drain s | redelivered | effects | deliveries | duplicates | lost | twice |');
    expect(markdownTables([withDuplicates])).to.match(/\| 4 \| 0 \| 1000 \| 1005 \| 5 \(5 injected\) \| 0 \| 0 \|$/m);
  });

  it('says them in the observations', () => {
    const [line] = observations([withDuplicates]);
    expect(line).to.contain('all 1000 accepted orders processed exactly once (1000 processed records on ecs; 1005 deliveries, 5 of them duplicates acknowledged without a second effect, 5 copies injected)');
    const [lost] = observations([result({ effects: 990, lost: 10, deliveries: 990 })]);
    expect(lost).to.contain('10 accepted orders LOST and 0 processed twice (990 processed records on ecs; 990 deliveries, 0 of them duplicates');
  });
});

describe('chart legend', () => {
  it('places entries side by side, as wide as their names, on one row above the plot', () => {
    const layout = legendLayout(['ecs×1', 'ecs×20', 'lambda×20']);
    expect(layout.map((entry) => entry.y)).to.deep.equal([46, 46, 46]);
    expect(layout[0]?.x).to.equal(80);
    expect(layout[1]?.x).to.equal(80 + 16 + 5 * 7 + 18);
  });

  it('wraps to a second row, above the first, when the names do not fit', () => {
    const names = Array.from({ length: 6 }, (_, index) => `lambda×${index}00 concurrent`);
    const layout = legendLayout(names);
    expect(new Set(layout.map((entry) => entry.y)).size).to.equal(2);
    expect(layout[0]?.y).to.equal(30);
    expect(layout.at(-1)?.y).to.equal(46);
    for (const entry of layout) expect(entry.x + 16 + 20 * 7).to.be.at.most(760);
  });
});
