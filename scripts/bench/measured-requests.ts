import { readFile, writeFile } from 'node:fs/promises';
import { DEFAULT_MEASURED_PATH, parseMeasuredRequests, type MeasuredRequests } from '../../cost/measured.ts';
import type { MachineInfo } from './machine.ts';
import type { ProcessorFigures } from './processor.ts';
import type { ReceiverFigures } from './receiver.ts';

export interface MeasuredRun {
  receiver: ReceiverFigures | undefined;
  processor: ProcessorFigures | undefined;
  machine: MachineInfo;
  loadAverage: number[];
  measuredAt: Date;
  command: string;
}

/**
 * The cost model's requests per order from one run: SNS publishing calls per order of the
 * receiver at the most connections, and the processor's SQS calls per order by kind at its
 * efficiency run with the highest concurrency (the realistic handler time). A part that did not
 * run keeps what the file had.
 */
export function measuredRequests(run: MeasuredRun, previous: MeasuredRequests | undefined): MeasuredRequests {
  const connections = run.receiver ? Math.max(...run.receiver.rows.map((row) => row.connections)) : 0;
  const receiver = run.receiver?.rows.find((row) => row.key === 'receiver' && row.connections === connections);
  const efficiency = run.processor?.efficiency.filter((row) => row.key === 'processor') ?? [];
  const processor = efficiency.find((row) => row.concurrency === Math.max(...efficiency.map((entry) => entry.concurrency)));
  const pick = (calls: Record<string, number>, actions: string[]) => Object.fromEntries(Object.entries(calls).filter(([action]) => actions.includes(action)));
  return {
    measuredAt: run.measuredAt.toISOString(),
    command: run.command,
    machine: `${run.machine.cpuModel}, ${run.machine.cores} cores, Node ${run.machine.node}`,
    loadAverage: run.loadAverage.map((value) => Math.round(value * 100) / 100),
    sns: receiver
      ? { source: receiver.name, connections, orders: receiver.accepted, calls: pick(receiver.calls, ['Publish', 'PublishBatch']), publishCallsPerOrder: round(receiver.snsCallsPerOrder) }
      : (previous?.sns ?? null),
    sqs: processor
      ? {
          source: processor.name,
          concurrency: processor.concurrency,
          handlerMs: processor.handlerMs,
          orders: processor.orders,
          efficiency: round(processor.efficiency),
          calls: processor.calls,
          receivesPerOrder: round(processor.perOrder.receives),
          deletesPerOrder: round(processor.perOrder.deletes),
          visibilityChangesPerOrder: round(processor.perOrder.visibility),
        }
      : (previous?.sqs ?? null),
  };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

export async function writeMeasuredRequests(run: MeasuredRun, path = DEFAULT_MEASURED_PATH): Promise<string> {
  const previousText = await readFile(path, 'utf8').catch(() => undefined);
  const previous = previousText === undefined ? undefined : parseMeasuredRequests(JSON.parse(previousText) as unknown, path);
  await writeFile(path, `${JSON.stringify(measuredRequests(run, previous), null, 2)}\n`);
  return 'cost/measured-requests.json';
}
