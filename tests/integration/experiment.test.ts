import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseExperimentArgs, runExperiment, type ExperimentOptions } from '../../scripts/experiment.ts';
import type { ConfigurationResult } from '../../scripts/experiment/run-configuration.ts';

describe('npm run experiment (a short run on the local stack)', function () {
  this.timeout(120_000);
  let out: string;
  let results: ConfigurationResult[];
  let files: string[];

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'ordersync-experiment-'));
    const options = parseExperimentArgs(['--rate', '20', '--duration', '3', '--processing-ms', '500', '--workers', '1,20', '--out', out]);
    if (options === 'help') throw new Error('unexpected help');
    ({ results, files } = await runExperiment(options as ExperimentOptions, 'test run', undefined));
  });
  after(() => rm(out, { recursive: true, force: true }));

  it('runs every configuration asked for and loses no order', () => {
    expect(results.map((result) => result.configuration.label)).to.deep.equal(['ecs×1', 'ecs×20', 'lambda']);
    for (const result of results) {
      expect(result.sent, result.configuration.label).to.equal(60);
      expect(result.accepted, result.configuration.label).to.equal(60);
      expect(result.lost, result.configuration.label).to.equal(0);
      expect(result.duplicated, result.configuration.label).to.equal(0);
      const processed = Object.values(result.receiveCounts).reduce((sum, count) => sum + count, 0);
      expect(processed, result.configuration.label).to.equal(result.accepted);
    }
  });

  it('shows the one-worker processor saturated at its capacity and the others keeping up', () => {
    const [one, twenty, lambda] = results;
    expect(one?.capacityPerSecond).to.equal(2);
    expect(one?.processedPerSecond).to.be.at.most(2.5);
    expect(one?.backlogAtEnd).to.be.above(20);
    expect(twenty?.processedPerSecond).to.be.above(one?.processedPerSecond ?? Infinity);
    expect(lambda?.backlogAtEnd).to.be.below(5);
  });

  it('writes the report: summary, figures and three charts, consistent with the run', async () => {
    expect(files.map((file) => file.slice(out.length + 1)).sort()).to.deep.equal(
      ['backlog.svg', 'latency.svg', 'results.json', 'summary.md', 'throughput.svg'],
    );
    const summary = await readFile(join(out, 'summary.md'), 'utf8');
    for (const label of ['ecs×1', 'ecs×20', 'lambda']) expect(summary).to.contain(`| ${label} |`);
    expect(summary).to.contain('all 60 accepted orders processed exactly once');
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { results: ConfigurationResult[] };
    expect(saved.results.map((result) => [result.accepted, result.lost])).to.deep.equal(results.map((result) => [result.accepted, result.lost]));
    for (const chart of ['throughput.svg', 'backlog.svg', 'latency.svg']) {
      const svg = await readFile(join(out, chart), 'utf8');
      expect(svg).to.match(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(svg.trimEnd()).to.match(/<\/svg>$/);
      expect(svg).to.match(/<(rect|path) /);
    }
    const backlog = await readFile(join(out, 'backlog.svg'), 'utf8');
    expect(backlog.match(/<path /g)).to.have.length(3); // one line per configuration
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
  });
});
