import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../../scripts/package-stack.ts';

/**
 * The shell scripts users run on their laptops (and the stand-ins npm test runs there) must run on
 * bash 3.2, macOS's /bin/bash. No bash 3.2 can be installed here (Debian has 5.x), so this reads
 * every script for the constructs that 3.2 does not have or runs differently, each with the
 * reason. One-line `#` comments are not read.
 */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /\$\{[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?(\^|,)/, why: 'case conversion ${x^} / ${x,} is bash 4' },
  { pattern: /\$\{[A-Za-z_][A-Za-z0-9_]*@[QEPAaKku]\}/, why: '${x@Q} transformations are bash 4.4' },
  { pattern: /\b(declare|local|typeset)\s+-[a-zA-Z]*[An]/, why: 'associative arrays and namerefs are bash 4' },
  { pattern: /\b(mapfile|readarray|coproc)\b/, why: 'mapfile, readarray and coproc are bash 4' },
  { pattern: /;;&|;&/, why: 'case fall-through ;& and ;;& are bash 4' },
  { pattern: /&>>|\|&/, why: '&>> and |& are bash 4' },
  { pattern: /\bwait\s+-n\b/, why: 'wait -n is bash 4.3' },
  { pattern: /\$\{[A-Za-z_][A-Za-z0-9_]*\[-[0-9]+\]\}/, why: 'negative array indexes are bash 4.3' },
  { pattern: /\$(EPOCHSECONDS|EPOCHREALTIME|BASH_ARGV0)\b/, why: 'EPOCHSECONDS, EPOCHREALTIME and BASH_ARGV0 are bash 5' },
  { pattern: /shopt\s+-s\s+(globstar|lastpipe|inherit_errexit)/, why: 'globstar, lastpipe and inherit_errexit are bash 4' },
];

/** "${A[@]}" is unbound under set -u on bash before 4.4 when A is empty; ${A[@]+"${A[@]}"} is not. */
const ARRAY_EXPANSION = /\$\{([A-Za-z_][A-Za-z0-9_]*)\[@\]\}/g;

function scripts(): string[] {
  const files = readdirSync(join(ROOT, 'scripts'))
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(ROOT, 'scripts', name));
  for (const dir of ['tests/deploy/fake-bin', 'tests/rehearsal/bin']) {
    try {
      files.push(...readdirSync(join(ROOT, dir)).map((name) => join(ROOT, dir, name)));
    } catch {
      // a folder that does not exist has no script
    }
  }
  return files;
}

/** Offences in one script: "line N: why". */
export function bash32Offences(text: string): string[] {
  const offences: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (/^\s*#/.test(line)) return;
    for (const { pattern, why } of FORBIDDEN) {
      if (pattern.test(line)) offences.push(`line ${index + 1}: ${why}: ${line.trim()}`);
    }
    for (const match of line.matchAll(ARRAY_EXPANSION)) {
      const name = match[1];
      const guarded = line.slice(0, match.index).endsWith(`\${${name}[@]+"`);
      if (!guarded) {
        offences.push(`line ${index + 1}: "\${${name}[@]}" is unbound on bash 3.2 when ${name} is empty; write \${${name}[@]+"\${${name}[@]}"}: ${line.trim()}`);
      }
    }
  });
  return offences;
}

describe('shell scripts run on bash 3.2 (macOS)', () => {
  it('finds what bash 3.2 lacks (the checker itself)', () => {
    expect(bash32Offences('echo "${component^}"')).to.have.length(1);
    expect(bash32Offences('sls deploy "${SLS_ARGS[@]}"')).to.have.length(1);
    expect(bash32Offences('sls deploy ${SLS_ARGS[@]+"${SLS_ARGS[@]}"}')).to.deep.equal([]);
    expect(bash32Offences('declare -A seen=()')).to.have.length(1);
    expect(bash32Offences('mapfile -t lines < file')).to.have.length(1);
    expect(bash32Offences('  *) x ;;&')).to.have.length(1);
    expect(bash32Offences('# "${component^}" in a comment')).to.deep.equal([]);
  });

  for (const file of scripts()) {
    it(`${relative(ROOT, file)} uses nothing bash 3.2 lacks`, () => {
      expect(bash32Offences(readFileSync(file, 'utf8'))).to.deep.equal([]);
    });
  }
});
