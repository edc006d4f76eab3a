import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseExperimentArgs, runExperiment, type ExperimentOptions } from '../../scripts/experiment.ts';
import { reportsFromLogText, summarizeReports } from '../../scripts/cold-starts/summary.ts';
import type { ConfigurationResult } from '../../scripts/experiment/run-configuration.ts';

describe('npm run experiment (a short run on the local stack)', function () {
  this.timeout(120_000);
  let out: string;
  let results: ConfigurationResult[];
  let files: string[];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'ordersync-experiment-'));
    // lambda×5: a limit of 5 at 500 ms a order is 10/s, below the 20/s offered: it is throttled.
    // --duplicates 5: five accepted orders per configuration published a second time after the window.
    const options = parseExperimentArgs([
      '--rate', '20', '--duration', '3', '--processing-ms', '500', '--workers', '1,20', '--lambda-concurrency', 'none,5', '--duplicates', '5', '--out', out,
    ]);
    if (options === 'help') throw new Error('unexpected help');
    ({ results, files } = await runExperiment(options as ExperimentOptions, 'test run', null));
  });
  after(() => rm(out, { recursive: true, force: true }));

  it('runs every configuration asked for and loses no order', () => {
    expect(results.map((result) => result.configuration.label)).to.deep.equal(['ecs×1', 'ecs×20', 'lambda', 'lambda×5']);
    for (const result of results) {
      expect(result.sent, result.configuration.label).to.equal(60);
      expect(result.accepted, result.configuration.label).to.equal(60);
      expect(result.lost, result.configuration.label).to.equal(0);
      expect(result.duplicated, result.configuration.label).to.equal(0);
      expect(result.drained, result.configuration.label).to.equal(true);
      const processed = Object.values(result.receiveCounts).reduce((sum, count) => sum + count, 0);
      expect(processed, result.configuration.label).to.equal(result.accepted);
    }
  });

  it('counts effects, deliveries and duplicates separately: 5 copies injected are 5 more deliveries and 5 duplicates, no second effect', () => {
    for (const result of results) {
      const { label } = result.configuration;
      expect(result.injectedDuplicates, label).to.equal(5);
      // One processed record per accepted order in the orders table, whatever was delivered twice.
      expect(result.effects, label).to.equal(60);
      // 60 order.processed lines and 5 order.duplicate lines.
      expect(result.duplicates, label).to.equal(5);
      expect(result.deliveries, label).to.equal(65);
      expect(result.duplicated, label).to.equal(0);
    }
  });

  it('shows the one-worker processor saturated at its capacity and the others keeping up', () => {
    const [one, twenty, lambda, limited] = results;
    expect(one?.capacityPerSecond).to.equal(2);
    expect(one?.processedPerSecond).to.be.at.most(2.5);
    expect(one?.backlogAtEnd).to.be.above(20);
    expect(twenty?.processedPerSecond).to.be.above(one?.processedPerSecond ?? Infinity);
    expect(lambda?.backlogAtEnd).to.be.below(5);
    expect(lambda?.lambda).to.include({ concurrencyLimit: 1000, reserved: false, throttles: 0 });
    expect(limited?.capacityPerSecond).to.equal(10);
  });

  it('throttles the Lambda whose limit is below the load: its events wait in the asynchronous queue, none is lost', () => {
    const limited = results[3];
    const figures = limited?.lambda;
    expect(figures).to.include({ concurrencyLimit: 5, reserved: true, peakBusy: 5 });
    expect(figures?.throttles).to.be.above(0);
    expect(figures?.peakEnvironments).to.be.at.most(5);
    expect(figures?.peakBacklog).to.be.above(0);
    expect(limited?.samples.some((sample) => (sample.lambda?.waiting ?? 0) > 0)).to.equal(true);
    expect(limited?.lost).to.equal(0);
    expect(limited?.duplicated).to.equal(0);
    // A throttle is not an invocation: one per delivery, the 5 duplicates included.
    expect(figures?.invocations).to.equal(limited?.deliveries);
  });

  it("reports cold starts and init percentiles that agree with the REPORT lines the run logged", async () => {
    for (const result of results.filter((entry) => entry.lambda)) {
      const { label } = result.configuration;
      const log = await readFile(join(out, label === 'lambda' ? 'lambda.log' : 'lambda-x5.log'), 'utf8');
      const reportLines = log.split('\n').filter((line) => line.startsWith('REPORT RequestId:'));
      const coldStartLines = reportLines.filter((line) => line.includes('Init Duration:'));
      expect(reportLines, label).to.have.length(result.deliveries);
      expect(coldStartLines.length, label).to.be.above(0);
      expect(result.lambda?.coldStarts, label).to.equal(coldStartLines.length);
      expect(result.lambda?.reports.coldStarts, label).to.equal(coldStartLines.length);
      expect(result.lambda?.reports, label).to.deep.equal(summarizeReports(reportsFromLogText(log)));
      expect(result.lambda?.reports.initDurationMs?.p50, label).to.be.above(0);
    }
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    const limited = results[3]?.lambda;
    expect(summary).to.match(new RegExp(`\\| lambda×5 \\| 5 reserved \\| 65 \\| ${limited?.reports.coldStarts} \\| [\\d.]+ \\| [\\d.]+ \\| 5 \\| \\d+ \\| ${limited?.throttles} \\|`));
    expect(summary).to.contain(`THROTTLED ${limited?.throttles} times`);
    expect(summary).to.contain('`lambda-x5.log`');
  });

  it('writes the report: summary, figures, four charts and the Lambda logs, consistent with the run', async () => {
    expect(files.map((file) => file.slice(out.length + 1)).sort()).to.deep.equal(
      ['backlog.svg', 'environments.svg', 'lambda-x5.log', 'lambda.log', 'latency.svg', 'results.json', 'summary.md', 'throughput.svg'],
    );
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    for (const label of ['ecs×1', 'ecs×20', 'lambda', 'lambda×5']) expect(summary).to.contain(`| ${label} |`);
    expect(summary).to.contain('all 60 accepted orders processed exactly once (60 processed records on ecs; 65 deliveries, 5 of them duplicates acknowledged without a second effect, 5 copies injected)');
    expect(summary).to.contain('| ecs×20 |').and.to.match(/\| 60 \| 65 \| 5 \(5 injected\) \| 0 \| 0 \|\n/);
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: ConfigurationResult[] };
    const figures = (list: ConfigurationResult[]) => list.map((result) => [result.accepted, result.lost, result.effects, result.deliveries, result.duplicates, result.injectedDuplicates]);
    expect(figures(saved.results)).to.deep.equal(figures(results));
    expect(saved.results.map((result) => result.settings.duplicates)).to.deep.equal([5, 5, 5, 5]);
    for (const chart of ['throughput.svg', 'backlog.svg', 'environments.svg', 'latency.svg']) {
      const svg = await readFile(join(out, chart), 'utf8');
      expect(svg).to.match(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg.trimEnd()).to.match(/<\/svg>$/);
      expect(svg).to.match(/<(rect|path) /);
    }
    const backlog = await readFile(join(out, 'backlog.svg'), 'utf8');
    expect(backlog.match(/<path /g)).to.have.length(4); // one line per configuration
    const environments = await readFile(join(out, 'environments.svg'), 'utf8');
    expect(environments.match(/<path /g)).to.have.length(4); // concurrent and alive, per Lambda configuration
    expect(environments).to.contain('lambda×5 concurrent');
  });
});

describe('experiment flags', () => {
  it('has defaults that finish in a few minutes', () => {
    const options = parseExperimentArgs([], new Date('2026-01-02T03:04:05.678Z'));
    expect(options).to.deep.equal({
      settings: { rate: 50, durationMs: 20_000, processingMs: 1000 },
      configurations: [
        { label: 'ecs×1', path: 'ecs', workers: 1 },
        { label: 'ecs×20', path: 'ecs', workers: 20 },
        { label: 'ecs×100', path: 'ecs', workers: 100 },
        { label: 'lambda', path: 'lambda', workers: 1000 },
        { label: 'lambda×20', path: 'lambda', workers: 20, reservedConcurrency: 20 },
      ],
      out: 'reports/experiment-2026-01-02T03-04-05Z',
    });
  });

  it('offers in --help only --paths values it accepts', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/experiment.ts', '--help'], { encoding: 'utf8' });
    const line = help.stdout.split('\n').find((text) => text.trim().startsWith('--paths')) ?? '';
    const offered = line.replace(/^\s*--paths LIST/, '').match(/\b(ecs|lambda|both)(,(ecs|lambda|both))*\b/g) ?? [];
    expect(offered, line).to.include.members(['ecs', 'lambda', 'ecs,lambda']);
    for (const value of offered) expect(() => parseExperimentArgs(['--paths', value]), value).not.to.throw();
  });

  it('refuses bad flags with plain messages', () => {
    expect(() => parseExperimentArgs(['--rate', 'fast'])).to.throw('--rate must be an integer from 1 to 1000 (got "fast")');
    expect(() => parseExperimentArgs(['--paths', 'ecs,k8s'])).to.throw('--paths may hold only ecs and lambda (got "k8s")');
    expect(() => parseExperimentArgs(['--duration', '1', '--processing-ms', '1000'])).to.throw('--duration must be at least twice');
    expect(() => parseExperimentArgs(['--lambda-concurrency', 'none,0'])).to.throw('--lambda-concurrency may hold none and integers from 1 to 1000 (got "0")');
    expect(() => parseExperimentArgs(['--lambda-concurrency', '20,20'])).to.throw('--lambda-concurrency names a limit twice');
    expect(() => parseExperimentArgs(['--duplicates=-1'])).to.throw('--duplicates must be an integer from 0 to 100000 (got "-1")');
    expect(() => parseExperimentArgs(['--duplicates', 'some'])).to.throw('--duplicates must be an integer from 0 to 100000 (got "some")');
    const withDuplicates = parseExperimentArgs(['--duplicates', '7']);
    expect(withDuplicates === 'help' ? undefined : withDuplicates.settings).to.deep.equal({ rate: 50, durationMs: 20_000, processingMs: 1000, duplicates: 7 });
  });

  it('runs one Lambda configuration per --lambda-concurrency entry, "none" being the unreserved function', () => {
    const options = parseExperimentArgs(['--paths', 'lambda', '--lambda-concurrency', '5, none']);
    expect(options === 'help' ? [] : options.configurations).to.deep.equal([
      { label: 'lambda×5', path: 'lambda', workers: 5, reservedConcurrency: 5 },
      { label: 'lambda', path: 'lambda', workers: 1000 },
    ]);
  });
});
