import { expect } from 'chai';
import type { TimedReport } from '../../local/lambda-runtime/platform-lines.ts';
import { startStatsServer } from '../../local/stats-server.ts';
import { freePort, spawnChild } from '../support/child-process.ts';

/**
 * npm run logs -- --local --cold-starts against a real stats server (local/stats-server.ts)
 * holding given REPORT figures with their times: only the window's reports count.
 */
const MINUTE = 60_000;

function report(minutesAgo: number, durationMs: number, maxMemoryUsedMb: number, initDurationMs?: number): TimedReport {
  return {
    requestId: `r-${minutesAgo}`,
    durationMs,
    billedDurationMs: Math.ceil(durationMs + (initDurationMs ?? 0)),
    memorySizeMb: 256,
    maxMemoryUsedMb,
    ...(initDurationMs === undefined ? {} : { initDurationMs }),
    at: new Date(Date.now() - minutesAgo * MINUTE).toISOString(),
  };
}

async function logs(statsPort: string, args: string[]) {
  const child = spawnChild('npm', ['run', '--silent', 'logs', '--', '--local', '--cold-starts', ...args], { STATS_PORT: statsPort });
  const { code } = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('npm run logs -- --local --cold-starts (against a real stats server)', function () {
  this.timeout(60_000);

  it("summarises the window's REPORT lines only", async () => {
    const reports = [
      report(180, 900, 120, 700), // three hours ago: outside both windows
      report(45, 40, 90, 300), // in the last hour, not in the last 30 minutes
      report(10, 30, 80, 250),
      report(5, 10, 82),
      report(1, 20, 85),
    ];
    const stats = await startStatsServer(0, () => ({ started_at: '', processor: null, lambda: null }), () => reports);
    try {
      const port = new URL(stats.url).port;
      // Last 30 minutes: durations [10, 20, 30], one cold start (250 ms); p50 rank 2 → 20, p99 rank 3 → 30.
      const recent = await logs(port, ['--since', '30m']);
      expect(recent.code, recent.stderr).to.equal(0);
      expect(recent.stdout).to.include(`Cold starts of the local Lambda (npm start, stats port ${port}), last 30m`);
      expect(recent.stdout).to.match(/invocations\s+3\n/);
      expect(recent.stdout).to.match(/cold starts\s+1 \(33\.3 %\)\n/);
      expect(recent.stdout).to.match(/Init Duration\s+p50 250\.00 ms {3}p90 250\.00 ms {3}p99 250\.00 ms {3}max 250\.00 ms\n/);
      expect(recent.stdout).to.match(/Duration\s+p50 20\.00 ms {3}p99 30\.00 ms\n/);
      expect(recent.stdout).to.match(/Max Memory Used\s+85 MB of 256 MB\n/);

      // The default hour adds the report of 45 minutes ago: inits [250, 300], durations [10, 20, 30, 40].
      const hour = await logs(port, ['--json']);
      expect(hour.code, hour.stderr).to.equal(0);
      expect(JSON.parse(hour.stdout)).to.deep.equal({
        invocations: 4, coldStarts: 2, coldStartShare: 0.5,
        initDurationMs: { p50: 250, p90: 300, p99: 300, max: 300 }, durationMs: { p50: 20, p99: 40 },
        maxMemoryUsedMb: 90, memorySizeMb: 256,
      });

      const none = await logs(port, ['--since', '30s']);
      expect(none.code, none.stderr).to.equal(0);
      expect(none.stdout).to.include('no REPORT line in this window');
    } finally {
      await stats.stop();
    }
  });

  it('tells how to start the stack when none answers, or when it runs no Lambda', async () => {
    const down = await logs(String(await freePort()), []);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^error: no local stack answers at http:\/\/127\.0\.0\.1:\d+\/lambda\/reports: start it with npm start -- --processor lambda \(or both\)/);

    const stats = await startStatsServer(0, () => ({ started_at: '', processor: null, lambda: null }));
    try {
      const answer = await fetch(new URL('/lambda/reports', stats.url));
      expect(answer.status).to.equal(404);
      expect(((await answer.json()) as { error: { code: string } }).error.code).to.equal('no_lambda');
      expect((await fetch(stats.url)).status).to.equal(200);
      const ecsOnly = await logs(new URL(stats.url).port, []);
      expect(ecsOnly.code).to.equal(1);
      expect(ecsOnly.stderr).to.equal('error: the local stack runs no Lambda: start it with npm start -- --processor lambda (or both)\n');
    } finally {
      await stats.stop();
    }
  });
});
