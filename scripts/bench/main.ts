import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseFlagsOrExit } from '../cli.ts';
import { benchLambda, type LambdaBenchSettings } from './lambda.ts';
import { processorChecks, receiverChecks, targetsSection, type TargetCheck } from './issue-targets.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { writeMeasuredRequests } from './measured-requests.ts';
import { benchProcessor, type ProcessorBenchSettings, type ProcessorFigures } from './processor.ts';
import { benchReceiver, type ReceiverBenchSettings, type ReceiverFigures } from './receiver.ts';
import { renderReport, renderSection, replaceSections, type BenchSection } from './report.ts';

const USAGE = `Usage: npm run bench -- [--quick] [--only receiver,processor,lambda] [--out FILE]

Benchmarks the receiver and the ECS processor against their peers (issue 11) and the Lambda
bundle on this machine, every figure beside a baseline measured in the same run; writes the
tables to BENCHMARKS.md and the AWS calls per order to cost/measured-requests.json.

  --quick        a short run (about 15 s) to check that everything works; prints the
                 tables and writes no file unless --out is given (nor the cost figures)
  --only LIST    run only these parts (comma-separated); with a report already at --out,
                 only their sections of it are replaced
  --out FILE     where to write the report (BENCHMARKS.md for a full run); elsewhere, the
                 cost figures are left as they are too
  -h, --help     this text

Every load is bounded in requests and in time; nothing leaves loopback.`;

const PARTS = ['receiver', 'processor', 'lambda'] as const;
type Part = (typeof PARTS)[number];

interface Plan {
  receiver: ReceiverBenchSettings;
  processor: ProcessorBenchSettings;
  lambda: LambdaBenchSettings;
}

const FULL: Plan = {
  receiver: { loads: [{ connections: 50, requestsPerRound: 5000 }, { connections: 1, requestsPerRound: 1000 }], rounds: 3, warmupMs: 5000, syncUsers: 20, syncRequests: 1000, syncProcessingMs: 200, maxLoadMs: 30_000 },
  processor: { drainMessages: 2000, drainConcurrencies: [1, 10, 100], processingMs: 1000, efficiencyConcurrencies: [10, 50, 100], efficiencyRounds: 5, efficiencyPeers: true, rounds: 3, timeoutMs: 60_000 },
  lambda: { coldStarts: 20, processColdStarts: 10, timeoutMs: 20_000, warmInvocations: 200 },
};

const QUICK: Plan = {
  receiver: { loads: [{ connections: 50, requestsPerRound: 500 }, { connections: 1, requestsPerRound: 150 }], rounds: 1, warmupMs: 500, syncUsers: 20, syncRequests: 60, syncProcessingMs: 200, maxLoadMs: 10_000 },
  processor: { drainMessages: 200, drainConcurrencies: [1, 10, 100], processingMs: 1000, efficiencyConcurrencies: [100], efficiencyRounds: 1, efficiencyPeers: false, rounds: 1, timeoutMs: 20_000 },
  lambda: { coldStarts: 3, processColdStarts: 2, timeoutMs: 20_000, warmInvocations: 10 },
};

function readArgs(argv: string[]): { quick: boolean; parts: Part[]; out: string | undefined } | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return 'help';
  const parts = values.only ? values.only.split(',').map((part) => part.trim()) : [...PARTS];
  const unknown = parts.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`--only takes ${PARTS.join(', ')} (got ${unknown.join(', ')})`);
  const quick = values.quick === true;
  return { quick, parts: parts as Part[], out: values.out ?? (quick ? undefined : 'BENCHMARKS.md') };
}

const { quick, parts, out } = parseFlagsOrExit(() => readArgs(process.argv.slice(2)), USAGE);
const plan = quick ? QUICK : FULL;
const log = (line: string) => process.stderr.write(`  ${line}\n`);
const startedAt = new Date();
const started = performance.now();
const loadBefore = loadAverage();
const machine = describeMachine();
process.stdout.write(`Benchmarks (${quick ? 'quick' : 'full'} run): ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}\n\n`);

let receiverFigures: ReceiverFigures | undefined;
let processorFigures: ProcessorFigures | undefined;
const runners: Record<Part, () => Promise<BenchSection>> = {
  receiver: async () => {
    const { section, figures } = await benchReceiver(plan.receiver, log);
    receiverFigures = figures;
    return section;
  },
  processor: async () => {
    const { section, figures } = await benchProcessor(plan.processor, log);
    processorFigures = figures;
    return section;
  },
  lambda: () => benchLambda(plan.lambda, log),
};
const sections: BenchSection[] = [];
for (const part of parts) {
  const section = await runners[part]();
  sections.push(section);
  process.stdout.write(`${renderSection(section)}\n`);
}
const checks: TargetCheck[] = [...(receiverFigures ? receiverChecks(receiverFigures) : []), ...(processorFigures ? processorChecks(processorFigures) : [])];
if (checks.length > 0) {
  const section = targetsSection(checks);
  sections.unshift(section);
  process.stdout.write(`${renderSection(section)}\n`);
}
if (!quick && out === 'BENCHMARKS.md' && (receiverFigures || processorFigures)) {
  const written = await writeMeasuredRequests({ receiver: receiverFigures, processor: processorFigures, machine, loadAverage: loadBefore, measuredAt: startedAt, command: `npm run bench${parts.length < PARTS.length ? ` -- --only ${parts.join(',')}` : ''}` });
  process.stdout.write(`wrote ${written}\n`);
}
process.stdout.write(`(${quick ? 'quick ' : ''}run took ${Math.round((performance.now() - started) / 1000)} s)\n`);

if (out) {
  const command = `npm run bench${quick ? ' -- --quick' : ''}${parts.length < PARTS.length ? ` ${quick ? '' : '-- '}--only ${parts.join(',')}` : ''}`;
  const durationSeconds = (performance.now() - started) / 1000;
  const loadAfter = loadAverage();
  const existing = parts.length < PARTS.length ? await readFile(out, 'utf8').catch(() => undefined) : undefined;
  if (existing !== undefined) {
    // A run of some parts refreshes only their sections of the report, and says so in each.
    const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');
    const note = `*This section was refreshed by \`${command}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (${Math.round(durationSeconds)} s${quick ? ', quick run' : ''}; ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load average before ${load(loadBefore)}, after ${load(loadAfter)}); the rest of the file is from the run above.*`;
    await writeFile(out, replaceSections(existing, sections, note));
    process.stdout.write(`refreshed ${sections.map((section) => section.title).join(', ')} in ${out}\n`);
  } else {
    const report = renderReport({ command, quick, startedAt, durationSeconds, machine, loadBefore, loadAfter, sections });
    await writeFile(out, report);
    process.stdout.write(`wrote ${out}\n`);
  }
}
