import { expect } from 'chai';
import { eventually } from '../support/eventually.ts';
import { freePort, groupAlive, killGroup, spawnChild, type Child } from '../support/child-process.ts';
import { processedCounts } from '../../local/log-collector.ts';
import { request, SEED_ORDER } from '../support/orders.ts';

/** npm's own notices about this machine's npm configuration are not the project's output. */
const projectErrors = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('npm warn'))
    .join('\n');

describe('npm start (the whole local stack as a user runs it)', function () {
  this.timeout(60_000);
  let child: Child | undefined;

  afterEach(() => {
    if (child) killGroup(child);
    child = undefined;
  });

  it('starts everything, prints where it listens, processes an order on both paths, and stops cleanly on Ctrl-C', async () => {
    const port = await freePort();
    child = spawnChild('npm', ['start', '--', '--processor', 'both'], {
      PORT: String(port),
      EMULATOR_PORT: String(await freePort()),
      STATS_PORT: String(await freePort()),
      PROCESSING_TIME_MS: '100',
    });
    const started = child;
    await eventually('the banner', () => started.stdout().includes('Ctrl-C stops everything'), 30_000);
    expect(started.stdout()).to.contain(`receiver        http://127.0.0.1:${port}`);
    expect(started.stdout()).to.contain(`curl -i -X POST http://127.0.0.1:${port}/orders/async`);

    const answer = await request(`http://127.0.0.1:${port}`, 'POST', '/orders/async', { body: SEED_ORDER });
    expect(answer.status).to.equal(202);
    await started.logs.waitFor('the order on both paths', () =>
      processedCounts(started.logs, 'ecs').get('001') === 1 && processedCounts(started.logs, 'lambda').get('001') === 1,
    );

    const statsUrl = /stats +(http:\S+)/.exec(started.stdout())?.[1] ?? '';
    const stats = (await (await fetch(statsUrl)).json()) as { processor: { succeeded: number }; lambda: { succeeded: number } };
    expect(stats.processor.succeeded).to.equal(1);
    expect(stats.lambda.succeeded).to.equal(1);

    // Ctrl-C in a terminal signals the whole foreground process group.
    const pid = started.process.pid ?? 0;
    const signalled = performance.now();
    process.kill(-pid, 'SIGINT');
    const { code, signal } = await started.exited;
    await eventually('every process of the group to end', () => !groupAlive(pid), 5000);
    expect(performance.now() - signalled).to.be.below(5000);
    // The stack exits 0; npm then re-raises the SIGINT it received, as it does for any script.
    expect(code === 0 || signal === 'SIGINT', JSON.stringify({ code, signal })).to.equal(true);
    expect(started.stdout()).to.contain('stopped');
    expect(projectErrors(started.stderr())).to.equal('');
  });

  it('refuses an unknown processor mode with a plain message', async () => {
    child = spawnChild('npm', ['start', '--', '--processor', 'kafka'], {});
    const { code } = await child.exited;
    expect(code).to.not.equal(0);
    expect(child.stderr()).to.contain('--processor must be one of ecs, lambda, both (got "kafka")');
    expect(child.stderr()).to.not.match(/\bat .+\.(ts|js):\d+/);
  });
});
