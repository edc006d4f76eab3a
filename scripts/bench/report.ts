import type { MachineInfo } from './machine.ts';
import { markdownTable, type Table } from './stats.ts';

/** One part of the benchmark: how it was measured, its tables, and what to read into them. */
export interface BenchSection {
  title: string;
  method: string[];
  tables: { caption: string; table: Table }[];
  notes: string[];
}

export function renderSection(section: BenchSection): string {
  return [
    `## ${section.title}`,
    '',
    ...section.method,
    '',
    ...section.tables.flatMap(({ caption, table }) => [`**${caption}**`, '', markdownTable(table), '']),
    ...section.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

export interface BenchRun {
  command: string;
  quick: boolean;
  startedAt: Date;
  durationSeconds: number;
  machine: MachineInfo;
  loadBefore: number[];
  loadAfter: number[];
  sections: BenchSection[];
}

/** BENCHMARKS.md: the machine, the command, a word on noise, then every section. */
export function renderReport(run: BenchRun): string {
  const { machine } = run;
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');
  return [
    '# Benchmarks',
    '',
    `Written by \`${run.command}\` on ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (${Math.round(run.durationSeconds)} s${run.quick ? ', quick run' : ''}); run it again to refresh this file.`,
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${machine.cpuModel}, ${machine.cores} cores${machine.cpuMhz ? ` at ${machine.cpuMhz} MHz` : ''} |`,
    `| memory | ${machine.memoryGb.toFixed(1)} GB |`,
    `| OS | ${machine.os} |`,
    `| Node | ${machine.node} |`,
    `| load average (1/5/15 min) | before ${load(run.loadBefore)}, after ${load(run.loadAfter)} |`,
    '',
    '**Read these figures as rough.** They come from one run on a shared 2-core machine on which',
    'other engineers run their tests at the same time (the load averages above show how busy it',
    'was), and the load generator, the target and the SNS/SQS emulator share those two cores. Each',
    'table therefore measures a baseline in the same run and gives ratios against it, which hold up',
    'better than the absolute numbers; CPU time per order holds up better still. None of this is AWS:',
    'the emulator answers in well under a millisecond where SNS and SQS take several, and a Fargate',
    'task of 0.25 vCPU has a quarter of one of these cores. No test asserts on any of these times.',
    '',
    ...run.sections.map(renderSection),
  ].join('\n');
}

/**
 * An existing report with some sections replaced (a run of only some parts: `--only`), each
 * replaced section headed by `note` so that its date and load are not mistaken for the file's.
 * Sections the report did not have are added at the end; the rest of the file is left as it was.
 */
export function replaceSections(report: string, sections: BenchSection[], note: string): string {
  let text = report.endsWith('\n') ? report : `${report}\n`;
  for (const section of sections) {
    const rendered = renderSection({ ...section, method: [note, '', ...section.method] });
    const heading = `## ${section.title}\n`;
    const start = text.startsWith(heading) ? 0 : text.indexOf(`\n${heading}`) + 1;
    if (start === 0 && !text.startsWith(heading)) {
      text = `${text}\n${rendered}`;
      continue;
    }
    // A section runs to the blank line before the next heading, or to the end of the file.
    const next = text.indexOf('\n## ', start + heading.length - 1);
    text = next === -1 ? `${text.slice(0, start)}${rendered}` : `${text.slice(0, start)}${rendered}\n${text.slice(next + 1)}`;
  }
  return text;
}
