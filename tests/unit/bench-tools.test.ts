import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { endLine, reportLine, startLine } from '../../local/lambda-runtime/platform-lines.ts';
import { bundleContributors, medianAndP90, platformLineSink } from '../../scripts/bench/lambda.ts';
import { runLoad } from '../../scripts/bench/load.ts';
import { renderSection, replaceSections, type BenchSection } from '../../scripts/bench/report.ts';
import { fmt, markdownTable, median, percentile, ratio, rotation, summarize } from '../../scripts/bench/stats.ts';
import { processCpuMs } from '../../scripts/bench/targets.ts';

// The benchmarks' helpers: counts and arithmetic only; no test here asserts on a time.
describe('benchmark tools', () => {
  it('interleaves rounds so that each starts one contestant further along', () => {
    expect([1, 2, 3].map((round) => rotation(3, round))).to.deep.equal([
      [1, 2, 0],
      [2, 0, 1],
      [0, 1, 2],
    ]);
  });

  it('computes nearest-rank percentiles and medians', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 0.5)).to.equal(50);
    expect(percentile(sorted, 0.99)).to.equal(99);
    expect(percentile(sorted, 1)).to.equal(100);
    expect(percentile([], 0.5)).to.be.NaN;
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(summarize([1, 2, 3, 10])).to.deep.equal({ p50: 2, p90: 10, p99: 10, max: 10, mean: 4 });
  });

  it('formats figures, ratios and tables', () => {
    expect(fmt(12_345.6)).to.equal('12,346');
    expect(fmt(123.4)).to.equal('123');
    expect(fmt(12.34)).to.equal('12.3');
    expect(fmt(1.234)).to.equal('1.23');
    expect(fmt(Number.NaN)).to.equal('n/a');
    expect(ratio(50, 200)).to.equal('0.25×');
    expect(ratio(1, 0)).to.equal('n/a');
    expect(markdownTable({ headers: ['a', 'bb'], rows: [['ccc', 'd']] })).to.equal('| a   | bb |\n| --- | -- |\n| ccc | d  |');
  });

  it('reads a process’s CPU time from /proc', () => {
    const own = processCpuMs(process.pid);
    if (own === undefined) return; // not Linux
    expect(own).to.be.a('number').and.to.be.at.least(0);
    expect(processCpuMs(undefined)).to.equal(undefined);
  });

  describe('load generator (autocannon)', () => {
    let server: Server;
    let url: string;
    const bodies: string[] = [];

    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          bodies.push(body);
          res.writeHead(bodies.length % 10 === 0 ? 503 : 202).end('{}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('sends exactly the requests asked for over its connections, counting every status', async () => {
      const result = await runLoad({ url, method: 'POST', path: '/orders/async', body: (index) => `{"n":${index}}`, connections: 5, requests: 40, maxDurationMs: 10_000 });
      expect(result.completed).to.equal(40);
      expect(result.latenciesMs).to.have.length(40);
      expect(result.statuses).to.deep.equal({ 202: 36, 503: 4 });
      expect(result.errors).to.equal(0);
      expect(result.cutShort).to.equal(false);
      expect(new Set(bodies).size).to.equal(40);
    });

    it('counts a refused connection as an error, not an answer', async () => {
      const result = await runLoad({ url: 'http://127.0.0.1:1', method: 'GET', path: '/', connections: 2, requests: 4, maxDurationMs: 10_000 });
      expect(result).to.include({ completed: 0, errors: 4 });
    });
  });

  describe('Lambda section', () => {
    it('counts and discards what an execution environment writes, keeping the REPORT figures', () => {
      const sink = platformLineSink();
      sink.write(startLine('r1'));
      sink.write('2026-01-01T00:00:00.000Z\tr1\tINFO\t{"msg":"order_processed"}');
      sink.write(endLine('r1'));
      sink.write(reportLine({ requestId: 'r1', durationMs: 8.744, billedDurationMs: 40, memorySizeMb: 256, maxMemoryUsedMb: 21, initDurationMs: 30.51 }));
      expect(sink.counts).to.deep.equal({ lines: 4, starts: 1, reports: 1, output: 1 });
      expect(sink.reports).to.deep.equal([{ requestId: 'r1', durationMs: 8.74, billedDurationMs: 40, memorySizeMb: 256, maxMemoryUsedMb: 21, initDurationMs: 30.51 }]);
    });

    it('gives the median and the 90th percentile of the runs', () => {
      expect(medianAndP90([5, 1, 4, 2, 3, 6, 7, 8, 9, 10])).to.deep.equal({ p50: 5, p90: 9 });
      expect(medianAndP90([3])).to.deep.equal({ p50: 3, p90: 3 });
    });

    it('adds up the bytes of the bundle per package and project folder, largest first', () => {
      const metafile = {
        outputs: {
          'handlers/process-order.mjs': {
            inputs: {
              'node_modules/pino/lib/tools.js': { bytesInOutput: 300 },
              'node_modules/pino/pino.js': { bytesInOutput: 200 },
              'node_modules/@scope/pkg/index.js': { bytesInOutput: 100 },
              'node_modules/a/node_modules/zod/index.js': { bytesInOutput: 600 },
              'lib/process-order.ts': { bytesInOutput: 50 },
            },
          },
        },
      };
      expect(bundleContributors(metafile, 'handlers/process-order.mjs')).to.deep.equal([
        ['zod', 600],
        ['pino', 500],
        ['@scope/pkg', 100],
        ['ordersync lib/', 50],
      ]);
      expect(bundleContributors(metafile, 'missing.mjs')).to.deep.equal([]);
    });
  });

  describe('report of some parts (--only)', () => {
    const section = (title: string, text: string): BenchSection => ({ title, method: [text], tables: [], notes: [] });
    const report = ['# Benchmarks', '', 'header', '', renderSection(section('Receiver', 'old receiver')), renderSection(section('Lambda', 'old lambda'))].join('\n');

    it('replaces only the sections that ran, each with its note, and keeps the rest byte for byte', () => {
      const refreshed = replaceSections(report, [section('Receiver', 'new receiver')], 'NOTE');
      expect(refreshed).to.equal(['# Benchmarks', '', 'header', '', renderSection(section('Receiver', 'NOTE\n\nnew receiver')), renderSection(section('Lambda', 'old lambda'))].join('\n'));
      const last = replaceSections(report, [section('Lambda', 'new lambda')], 'NOTE');
      expect(last).to.equal(['# Benchmarks', '', 'header', '', renderSection(section('Receiver', 'old receiver')), renderSection(section('Lambda', 'NOTE\n\nnew lambda'))].join('\n'));
    });

    it('adds a section the report did not have at the end', () => {
      const added = replaceSections(report, [section('Processor', 'new processor')], 'NOTE');
      expect(added).to.equal(`${report}\n${renderSection(section('Processor', 'NOTE\n\nnew processor'))}`);
    });
  });
});
