import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { COMPONENTS } from '../../scripts/build.ts';
import { ROOT } from '../../scripts/package-stack.ts';

/**
 * No Docker engine here, so the Dockerfiles are read rather than built: their stages, base, user,
 * PID 1, health check and the files they take from the build context and from scripts/build.ts
 * (whose bundles tests/images/bundles.test.ts runs).
 */
interface Instruction {
  keyword: string;
  args: string;
}

function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each stage, split at FROM. */
function stages(all: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/** Paths the build context lets through: `**` ignored, then `!path` or `!dir/**` lines. */
function contextAllows(path: string): boolean {
  const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  expect(lines[0]).to.equal('**');
  return lines
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1))
    .some((allowed) => allowed === path || (allowed.endsWith('/**') && `${path}/`.startsWith(allowed.slice(0, -2))));
}

for (const component of COMPONENTS) {
  describe(`containers/${component}/Dockerfile`, () => {
    const all = instructions(readFileSync(join(ROOT, 'containers', component, 'Dockerfile'), 'utf8'));
    const [build = [], run = []] = stages(all);
    const args = (stage: Instruction[], keyword: string) => stage.filter((found) => found.keyword === keyword).map((found) => found.args);

    it('is multi-stage on a Node 24 base', () => {
      expect(stages(all)).to.have.length(2);
      expect(all.find((found) => found.keyword === 'ARG')?.args).to.match(/^NODE_IMAGE=node:24-/);
      expect(args(run, 'FROM')).to.deep.equal(['${NODE_IMAGE}']);
    });

    it("bundles on the builder's own platform and builds the image for the target one (Apple Silicon: no emulated npm ci)", () => {
      expect(args(build, 'FROM')).to.deep.equal(['--platform=$BUILDPLATFORM ${NODE_IMAGE} AS build']);
      // The run stage takes the platform docker build is given (linux/amd64 in npm run deploy).
      expect(args(run, 'FROM').join(' ')).not.to.include('--platform');
      expect(readFileSync(join(ROOT, 'containers', component, 'Dockerfile'), 'utf8').split('\n')[0]).to.equal('# syntax=docker/dockerfile:1');
    });

    it('bundles in the build stage with the same script the tests run', () => {
      expect(args(build, 'RUN')).to.include(`node scripts/build.ts ${component}`);
      expect(args(build, 'RUN').some((command) => command.includes('npm ci'))).to.equal(true);
    });

    it('copies into the build stage only what the build context lets through', () => {
      for (const copy of args(build, 'COPY')) {
        const sources = copy.split(/\s+/).slice(0, -1);
        for (const source of sources) expect(contextAllows(source.replace(/\/$/, '')), source).to.equal(true);
      }
    });

    it('runs only the bundle: no node_modules, no npm step, as a non-root user', () => {
      const copies = args(run, 'COPY');
      expect(copies).to.deep.equal([
        `--from=build /src/dist/${component}.mjs /src/dist/${component}.mjs.map ./`,
        `--from=build /src/dist/${component}-healthcheck.mjs ./healthcheck.mjs`,
      ]);
      expect(args(run, 'RUN').join(' ')).not.to.match(/npm|yarn/);
      expect(args(run, 'USER')).to.deep.equal(['node']);
      expect(args(run, 'WORKDIR')).to.deep.equal(['/app']);
    });

    it('hands signals to Node through tini as PID 1 and runs the bundle with source maps', () => {
      expect(args(run, 'ENTRYPOINT')).to.deep.equal(['["/sbin/tini", "--"]']);
      expect(args(run, 'RUN')).to.include('apk add --no-cache tini');
      expect(args(run, 'CMD')).to.deep.equal([`["node", "--enable-source-maps", "/app/${component}.mjs"]`]);
    });

    it('has a health check running the bundled check, as the ECS task does', () => {
      const [check] = args(run, 'HEALTHCHECK');
      expect(check).to.match(/CMD \["node", "\/app\/healthcheck\.mjs"\]$/);
    });
  });
}
