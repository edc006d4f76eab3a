import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';

/** The project stands on its own: no file points at this machine or at anything beside the clone. */
describe('the repository', () => {
  it('points at nothing outside itself (no path of this machine, nothing beside the clone)', () => {
    const outside = `${dirname(ROOT.replace(/\/$/, ''))}/`;
    // Spelled in parts, so that this file does not name it itself.
    const beside = ['..', 'shared'].join('/');
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file && file !== 'package-lock.json');
    const offenders: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue;
      }
      if (text.includes('\0')) continue;
      text.split('\n').forEach((line, index) => {
        if (line.includes(outside) || line.includes(beside)) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).to.deep.equal([]);
  });
});
