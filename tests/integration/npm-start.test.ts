import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { eventually } from '../support/eventually.ts';
import { freePort, groupAlive, killGroup, spawnChild, type Child } from '../support/child-process.ts';
import { processedCounts } from '../../local/log-collector.ts';
import { makeOrder, request, sendAsyncOrders, SEED_ORDER } from '../support/orders.ts';

/** npm's own notices about this machine's npm configuration are not the project's output. */
const projectErrors = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('npm warn'))
    .join('\n');

describe('npm start (the whole local stack as a user runs it)', function () {
  this.timeout(60_000);
  let child: Child | undefined;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ordersync-local-data-'));
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  afterEach(() => {
    if (child) killGroup(child);
    child = undefined;
  });

  it('starts everything, prints where it listens, processes an order on both paths, and stops cleanly on Ctrl-C', async () => {
    const port = await freePort();
    child = spawnChild('npm', ['start', '--', '--processor', 'both', '--fresh'], {
      LOCAL_DATA_DIR: dataDir,
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

  it('names the variable of a port already in use', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      child = spawnChild('npm', ['start', '--', '--fresh'], {
        LOCAL_DATA_DIR: dataDir,
        PORT: String(await freePort()),
        EMULATOR_PORT: String(await freePort()),
        STATS_PORT: String(port),
      });
      const { code } = await child.exited;
      expect(code).to.equal(1);
      expect(projectErrors(child.stderr())).to.equal(`cannot start: port ${port} is already in use (set STATS_PORT to another port)`);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('names no ECS workers in lambda mode', async () => {
    child = spawnChild('npm', ['start', '--', '--processor', 'lambda', '--fresh'], {
      LOCAL_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      STATS_PORT: String(await freePort()),
      PROCESSING_TIME_MS: '100',
    });
    const started = child;
    await eventually('the banner', () => started.stdout().includes('Ctrl-C stops everything'), 30_000);
    expect(started.stdout()).to.contain('processor: lambda');
    expect(started.stdout()).to.match(/processing +100 ms per order\n/);
    expect(started.stdout()).not.to.contain('ECS workers');
    expect(started.stdout()).to.match(/Lambda +256 MB, unreserved \(account limit 1000\)/);
  });

  it('refuses a Lambda concurrency limit outside 1 to 1000 with a plain message', async () => {
    child = spawnChild('npm', ['start', '--', '--processor', 'lambda', '--lambda-concurrency', '0'], {});
    const { code } = await child.exited;
    expect(code).to.not.equal(0);
    expect(child.stderr()).to.contain('LAMBDA_CONCURRENCY must be an integer from 1 to 1000 (got "0")');
  });

  it('refuses an unknown processor mode with a plain message', async () => {
    child = spawnChild('npm', ['start', '--', '--processor', 'kafka'], {});
    const { code } = await child.exited;
    expect(code).to.not.equal(0);
    expect(child.stderr()).to.contain('--processor must be one of ecs, lambda, both (got "kafka")');
    expect(child.stderr()).to.not.match(/\bat .+\.(ts|js):\d+/);
  });
});

describe('npm start: Ctrl-C under load, and the backlog across restarts', function () {
  this.timeout(180_000);
  let child: Child | undefined;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ordersync-local-data-'));
  });

  afterEach(() => {
    if (child) killGroup(child);
    child = undefined;
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** npm start as a user runs it, slow enough (5 workers, 200 ms an order) to leave a backlog. */
  async function start(...args: string[]): Promise<{ child: Child; url: string }> {
    const port = await freePort();
    const started = spawnChild('npm', ['start', '--', ...args], {
      PORT: String(port),
      EMULATOR_PORT: String(await freePort()),
      STATS_PORT: String(await freePort()),
      PROCESSING_TIME_MS: '200',
      PROCESSOR_CONCURRENCY: '5',
      LOCAL_DATA_DIR: dataDir,
    });
    child = started;
    await eventually('the banner', () => started.stdout().includes('Ctrl-C stops everything'), 30_000);
    return { child: started, url: `http://127.0.0.1:${port}` };
  }

  /** One Ctrl-C, as a terminal sends it to the whole foreground process group. */
  async function ctrlC(started: Child): Promise<void> {
    process.kill(-(started.process.pid ?? 0), 'SIGINT');
    const { code, signal } = await started.exited;
    // 130 would be "quit now": the stack gave up its drain.
    expect(code === 0 || signal === 'SIGINT', JSON.stringify({ code, signal, stdout: started.stdout().slice(-500) })).to.equal(true);
    expect(started.stdout()).to.match(/stopped: (no order left queued|\d+ in the orders queue left queued)/);
    child = undefined;
  }

  it('one Ctrl-C during a burst drains, and every order answered 202 is processed once, this run or the next', async () => {
    const accepted: string[] = [];
    const processed = new Map<string, number>();
    const count = (started: Child) => {
      for (const [id, times] of processedCounts(started.logs, 'ecs')) processed.set(id, (processed.get(id) ?? 0) + times);
    };
    for (let run = 1; run <= 3; run += 1) {
      const { child: started, url } = await start();
      const orders = Array.from({ length: 40 }, (_, index) => makeOrder(`burst-${run}-${index}`));
      const answers = await sendAsyncOrders(url, orders, 40);
      answers.forEach((answer, index) => {
        if (answer.status === 202) accepted.push(orders[index]!.order_id);
      });
      await ctrlC(started);
      count(started);
    }
    expect(accepted).to.have.length(120);
    expect(processed.size, 'processed before the last start').to.be.below(120);

    // The next start resumes the backlog the earlier ones left.
    const { child: last } = await start();
    await last.logs.waitFor('every accepted order', () => {
      const seen = processedCounts(last.logs, 'ecs');
      return accepted.every((id) => processed.has(id) || seen.has(id));
    }, 60_000);
    await ctrlC(last);
    count(last);
    expect(last.stdout()).to.include('stopped: no order left queued');
    const notOnce = accepted.filter((id) => processed.get(id) !== 1).map((id) => `${id}: ${processed.get(id) ?? 0}`);
    expect(notOnce, 'orders not processed exactly once').to.deep.equal([]);
  });

  it('npm start -- --fresh discards what was queued', async () => {
    const { child: first, url } = await start();
    await sendAsyncOrders(url, Array.from({ length: 30 }, (_, index) => makeOrder(`fresh-${index}`)), 30);
    await ctrlC(first);
    expect(first.stdout()).to.match(/stopped: \d+ in the orders queue left queued/);

    const { child: fresh } = await start('--fresh');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await ctrlC(fresh);
    expect(processedCounts(fresh.logs, 'ecs').size).to.equal(0);
    expect(fresh.stdout()).to.include('stopped: no order left queued');
  });
});
