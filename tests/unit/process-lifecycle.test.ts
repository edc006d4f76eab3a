import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';

/**
 * stopOnSignals in a real process: one Ctrl-C reaches a process two or three times (the terminal
 * signals the whole process group, and npm or tsx relay it again), which must not count as the
 * second, deliberate Ctrl-C that quits without draining.
 */
const LIFECYCLE = fileURLToPath(new URL('../../lib/process-lifecycle.ts', import.meta.url));
const SCRIPT = `
import { stopOnSignals } from ${JSON.stringify(LIFECYCLE)};
const logger = { info() {}, warn() {}, error() {} };
stopOnSignals(logger, () => new Promise((resolve) => setTimeout(() => { console.log('drained'); resolve(); }, 2000)));
console.log('ready');
setInterval(() => {}, 1000);
`;

async function signalTwice(gapMs: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  while (!out.includes('ready')) await sleep(20);
  child.kill('SIGINT');
  await sleep(gapMs);
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, out };
}

describe('stop signals (lib/process-lifecycle.ts)', function () {
  this.timeout(20_000);

  it('takes a signal repeated within the same second for the same Ctrl-C, and drains', async () => {
    const { code, out } = await signalTwice(30);
    expect(out).to.include('drained');
    expect(code).to.equal(0);
  });

  it('quits at once on a second Ctrl-C that comes later', async () => {
    const { code, out } = await signalTwice(1200);
    expect(out).not.to.include('drained');
    expect(code).to.equal(130);
  });
});
