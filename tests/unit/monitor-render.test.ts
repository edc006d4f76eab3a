import { expect } from 'chai';
import { renderMonitor } from '../../scripts/monitor/render.ts';
import type { MonitorSample } from '../../scripts/monitor/targets.ts';

const stats = (succeeded: number, inFlight: number, failed = 0) => ({ inFlight, peakInFlight: inFlight, succeeded, failed, released: 0 });

function sample(at: number, visible: number, dlq: number, ecsDone: number): MonitorSample {
  return {
    at,
    queues: [
      { name: 'orders', url: 'u1', depth: { visible, inFlight: 100, delayed: 0 } },
      { name: 'orders DLQ', url: 'u2', depth: { visible: dlq, inFlight: 0, delayed: 0 } },
    ],
    processing: { kind: 'counters', ecs: stats(ecsDone, 100), lambda: null },
  };
}

describe('monitor screen', () => {
  const options = { description: 'local stack', intervalMs: 1000, color: false };

  it('shows depths, the backlog trend and processing rates from successive readings', () => {
    const t0 = Date.parse('2026-11-25T10:00:00Z');
    const history = Array.from({ length: 11 }, (_, second) => sample(t0 + second * 1000, 100 + second * 5, 0, second * 30));
    const screen = renderMonitor(history, options);
    expect(screen).to.contain('10:00:10 UTC');
    expect(screen).to.match(/orders\s+150\s+100\s+0\s+\+5\.0\/s ▲ growing/);
    expect(screen).to.match(/ECS processor\s+30\.0\s+30\.0\s+100\s+300\s+0/);
    expect(screen).to.match(/Lambda\s+–/);
  });

  it("shows the ECS processor's deferred deliveries (an order another worker holds), apart from its failures", () => {
    const held: MonitorSample = {
      at: 0,
      queues: [],
      processing: { kind: 'counters', ecs: { ...stats(12, 3, 1), deferred: 7 }, lambda: null },
    };
    const screen = renderMonitor([held], options);
    expect(screen).to.match(/PROCESSING\s+NOW\/s\s+10 s AVG\/s\s+IN FLIGHT\s+DONE\s+FAILED\s+DEAD-LETTERED\s+INVOCATIONS\s+DEFERRED/);
    expect(screen).to.match(/ECS processor\s+–\s+–\s+3\s+12\s+1\s+–\s+–\s+7/);
    expect(screen).to.contain('DEFERRED: deliveries the ECS processor left for later');
  });

  it("shows the Lambda's own figures: a poison order's three failed invocations and its dead letter, not a done order", () => {
    const poisoned: MonitorSample = {
      at: 0,
      queues: [],
      processing: { kind: 'counters', ecs: null, lambda: {
          inFlight: 0,
          waiting: 0,
          invocations: 4,
          errors: 3,
          succeeded: 1,
          deadLettered: 1,
          environments: 1,
          busy: 0,
          peakEnvironments: 1,
          peakBusy: 1,
          coldStarts: 1,
          throttles: 0,
          concurrencyLimit: 1000,
        },
      },
    };
    const screen = renderMonitor([poisoned], options);
    expect(screen).to.match(/PROCESSING\s+NOW\/s\s+10 s AVG\/s\s+IN FLIGHT\s+DONE\s+FAILED\s+DEAD-LETTERED\s+INVOCATIONS/);
    expect(screen).to.match(/Lambda\s+–\s+–\s+0\s+1\s+3\s+1\s+4/);
  });

  it("shows the Lambda's environments against its limit, cold starts, throttles and the throttled events waiting", () => {
    const throttled: MonitorSample = {
      at: 0,
      queues: [{ name: 'Lambda events', url: 'u3', depth: { visible: 30, inFlight: 140, delayed: 0 } }],
      processing: {
        kind: 'counters',
        ecs: null,
        lambda: {
          inFlight: 140,
          waiting: 120,
          invocations: 400,
          errors: 0,
          succeeded: 380,
          deadLettered: 0,
          environments: 20,
          busy: 20,
          peakEnvironments: 20,
          peakBusy: 20,
          coldStarts: 20,
          throttles: 1444,
          concurrencyLimit: 20,
        },
        lambdaBacklog: 150,
      },
    };
    const screen = renderMonitor([throttled], options);
    expect(screen).to.match(/Lambda events\s+30\s+140\s+0/);
    expect(screen).to.match(/LAMBDA\s+BUSY \/ ALIVE\s+LIMIT\s+PEAK BUSY\s+COLD STARTS\s+THROTTLES\s+THROTTLED WAITING\s+ASYNC BACKLOG/);
    expect(screen).to.match(/environments\s+20 \/ 20 at limit\s+20 reserved\s+20\s+20\s+1444\s+120\s+150/);
    expect(screen).to.contain("Lambda's backoff");
  });

  it('shows an unreserved Lambda against the account limit, and no Lambda line without Lambda figures', () => {
    const idle: MonitorSample = {
      at: 0,
      queues: [],
      processing: {
        kind: 'counters',
        ecs: null,
        lambda: {
          inFlight: 0, waiting: 0, invocations: 3, errors: 0, succeeded: 3, deadLettered: 0,
          environments: 2, busy: 0, peakEnvironments: 2, peakBusy: 2, coldStarts: 2, throttles: 0, concurrencyLimit: 1000,
        },
      },
    };
    expect(renderMonitor([idle], options)).to.match(/environments\s+0 \/ 2\s+1000 account\s+2\s+2\s+0\s+0\s+–/);
    expect(renderMonitor([sample(0, 0, 0, 0)], options)).not.to.contain('BUSY / ALIVE');
  });

  it('marks a dead-letter queue that holds messages', () => {
    const screen = renderMonitor([sample(0, 0, 3, 0)], options);
    expect(screen).to.match(/orders DLQ\s+3 !/);
  });

  it('says when a queue cannot be read', () => {
    const history: MonitorSample[] = [
      { at: 0, queues: [{ name: 'orders', url: '', depth: undefined, error: 'TimeoutError: is npm start running?' }], processing: { kind: 'counters', ecs: null, lambda: null, error: 'no counters' } },
    ];
    const screen = renderMonitor(history, options);
    expect(screen).to.contain('is npm start running?');
    expect(screen).to.contain('no counters');
  });

  it('shows CloudWatch minutes for a deployed stage', () => {
    const history: MonitorSample[] = [
      { at: 0, queues: [], processing: { kind: 'cloudwatch', ecsPerMinute: [600, 1200], lambdaPerMinute: [], lambdaErrorsPerMinute: [] } },
    ];
    const screen = renderMonitor(history, options);
    expect(screen).to.match(/ECS processor \(SQS messages deleted\)\s+600 1200\s+≈ 20\.0\/s/);
    expect(screen).to.match(/Lambda invocations\s+no data yet/);
  });
});
