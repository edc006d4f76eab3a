import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';
import { COLD_START_QUERY } from '../../scripts/cold-starts/insights.ts';
import { createFakeTools, type FakeTools } from './fake-tools.ts';

/**
 * npm run logs -- --stage NAME --cold-starts against the stand-in for aws (fake-bin/aws): the
 * Logs Insights query started on the function's log group over the window, polled while Running,
 * and its answer (logs-insights-results.json, written in the shape the CLI prints for
 * GetQueryResults; its figures are the hand-computed ones of tests/unit/cold-starts.test.ts)
 * printed as the summary.
 */
const STAGE = 'ci';
const RESULTS = join(ROOT, 'tests/deploy/logs-insights-results.json');

function run(fakes: FakeTools, command: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...fakes.env, PATH: `${fakes.bin}:${process.env.PATH ?? ''}`, AWS_REGION: 'eu-west-1', ...env },
    timeout: 30_000,
  });
}

describe('npm run logs -- --cold-starts on a stage (with a stand-in for aws)', function () {
  this.timeout(40_000);
  let fakes: FakeTools;

  beforeEach(async () => {
    fakes = await createFakeTools(STAGE);
  });

  afterEach(async () => {
    await fakes.cleanup();
  });

  it("queries the function's log group over the last 30 minutes and prints the figures", async () => {
    await fakes.setQueryResults(await readFile(RESULTS, 'utf8'));
    const before = Math.floor(Date.now() / 1000);
    const result = run(fakes, 'npm', ['run', '--silent', 'logs', '--', '--stage', STAGE, '--cold-starts', '--since', '30m']);
    const after = Math.floor(Date.now() / 1000);
    expect(result.status, result.stderr).to.equal(0);

    const args = (await fakes.startQueryArgs()) ?? [];
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args.slice(0, 2)).to.deep.equal(['logs', 'start-query']);
    expect(value('--log-group-name')).to.equal(`/aws/lambda/ordersync-${STAGE}-processOrder`);
    expect(value('--region')).to.equal('eu-west-1');
    expect(value('--output')).to.equal('json');
    expect(value('--query-string')).to.equal(COLD_START_QUERY);
    const start = Number(value('--start-time'));
    const end = Number(value('--end-time'));
    expect(end - start).to.equal(30 * 60);
    expect(end).to.be.within(before, after);
    // Polled twice: Running, then Complete.
    expect((await fakes.calls()).filter((call) => call.startsWith('aws logs get-query-results --query-id 0f3c1a2b-fake-query'))).to.have.length(2);

    expect(result.stdout).to.include(`Cold starts of processOrder on stage ${STAGE} (eu-west-1, /aws/lambda/ordersync-${STAGE}-processOrder), last 30m`);
    expect(result.stdout).to.match(/invocations\s+8\n/);
    expect(result.stdout).to.match(/cold starts\s+3 \(37\.5 %\)\n/);
    expect(result.stdout).to.match(/Init Duration\s+p50 390\.00 ms {3}p90 480\.25 ms {3}p99 480\.25 ms {3}max 480\.25 ms\n/);
    expect(result.stdout).to.match(/Duration\s+p50 20\.25 ms {3}p99 3000\.00 ms\n/);
    expect(result.stdout).to.match(/Max Memory Used\s+97 MB of 256 MB\n/);
  });

  it('--json prints the summary, and --region reaches the query', async () => {
    await fakes.setQueryResults(await readFile(RESULTS, 'utf8'));
    const result = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE, '--region', 'ap-south-1', '--cold-starts', '--json']);
    expect(result.status, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.deep.equal({
      invocations: 8, coldStarts: 3, coldStartShare: 0.375,
      initDurationMs: { p50: 390, p90: 480.25, p99: 480.25, max: 480.25 }, durationMs: { p50: 20.25, p99: 3000 },
      maxMemoryUsedMb: 97, memorySizeMb: 256,
    });
    const args = (await fakes.startQueryArgs()) ?? [];
    expect(args[args.indexOf('--region') + 1]).to.equal('ap-south-1');
    const window = Number(args[args.indexOf('--end-time') + 1]) - Number(args[args.indexOf('--start-time') + 1]);
    expect(window).to.equal(3600); // the default --since 1h
  });

  it('says plainly when the window has no REPORT line', async () => {
    await fakes.setQueryResults('{"results": [], "statistics": {"recordsMatched": 0.0}, "status": "Complete"}');
    const result = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE, '--cold-starts', '--since', '15m']);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include('no REPORT line in this window: no invocation of the function was recorded.');
    expect(result.stdout).to.include(`stage ${STAGE} runs without the Lambda (processorMode ecs)`);
  });

  it('fails with one line when the query fails, or when the log group does not exist', async () => {
    await fakes.setQueryResults('{"results": [], "status": "Failed"}');
    const failed = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE, '--cold-starts']);
    expect(failed.status).to.equal(1);
    expect(failed.stderr).to.equal(`error: the Logs Insights query 0f3c1a2b-fake-query on /aws/lambda/ordersync-${STAGE}-processOrder ended with status Failed\n`);

    await fakes.failCall('logs', 'start-query', 'An error occurred (ResourceNotFoundException) when calling the StartQuery operation: The specified log group does not exist.');
    const missing = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE, '--cold-starts']);
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.equal(
      `error: the log group /aws/lambda/ordersync-${STAGE}-processOrder does not exist in eu-west-1: is stage ${STAGE} deployed with processorMode lambda or both, and has the function run once?\n`,
    );
  });

  it('names the flag on a bad window, and the other log commands are unchanged', async () => {
    const bad = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE, '--cold-starts', '--since', '90']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.include('--since must be a whole number above 0 followed by s, m, h or d, e.g. 30m or 2d (got "90")');
    expect(await fakes.startQueryArgs()).to.equal(undefined);

    const logs = run(fakes, 'bash', ['scripts/logs.sh', '--stage', STAGE]);
    expect(logs.status, logs.stderr).to.equal(0);
    expect(await fakes.calls()).to.deep.equal([`sls logs --function processOrder --stage ${STAGE} --region eu-west-1 --startTime 10m`]);
  });
});
