import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';

/** What the npm scripts users run do besides their command. */
const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('npm scripts', () => {
  it('turn Artillery telemetry off wherever they run Artillery', () => {
    const artillery = Object.entries(scripts).filter(([, command]) => /\bartillery\b/.test(command));
    expect(artillery.map(([name]) => name)).to.include.members(['load:sync']);
    for (const [name, command] of artillery) expect(command, name).to.match(/^ARTILLERY_DISABLE_TELEMETRY=true artillery /);
    // load:async runs Artillery from scripts/load-async.ts (then checks the orders' status), which sets it for Artillery.
    expect(scripts['load:async']).to.equal('tsx scripts/load-async.ts');
    expect(readFileSync(new URL('../../scripts/load-async.ts', import.meta.url), 'utf8')).to.contain("ARTILLERY_DISABLE_TELEMETRY: 'true'");
  });

  it('start the local stack without tsx\'s signal relay, which turned one Ctrl-C into two', () => {
    expect(scripts.start).to.equal('node --import tsx local/start.ts');
  });

  it('give the same duration for npm run bench -- --quick in the README and in --help', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench/main.ts', '--help'], { encoding: 'utf8' }).stdout;
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const inHelp = /--quick\s+a short run \((about [^)]+)\)/.exec(help)?.[1];
    const inReadme = /npm run bench -- --quick\s+# a short benchmark run \((about [^)]+)\)/.exec(readme)?.[1];
    expect(inHelp, help).to.be.a('string');
    expect(inReadme).to.equal(inHelp);
  });
});
