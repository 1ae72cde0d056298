import fs from 'node:fs';
import path from 'node:path';
import { isIgnored, logicalLines, parseDockerfile, parseIgnore, targetInputs } from './dockerfile.ts';

const text = `# comment
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json \\
     .npmrc ./
RUN npm ci

FROM node:24-bookworm-slim AS base
COPY --from=deps /app/node_modules ./node_modules
COPY ["package.json", "./"]

FROM base AS operator
COPY operator/src ./operator/src
COPY --chown=1:1 lib/ ./lib

FROM debian:bookworm-slim AS tools
ADD tools.tar /

FROM base AS runtime
COPY --from=tools /x /x
COPY --from=busybox:1 /bin/busybox /bin/
COPY runtime/src ./runtime/src
`;

describe('parseDockerfile and targetInputs', () => {
  test('continuations and comments', () => {
    expect(logicalLines(text)[2]).toBe('COPY package.json package-lock.json       .npmrc ./');
  });
  test('a target reaches its FROM chain and COPY --from stages, and names outside images', () => {
    const stages = parseDockerfile(text);
    expect(stages.map((s) => s.name)).toEqual(['deps', 'base', 'operator', 'tools', 'runtime']);
    expect(targetInputs(stages, 'operator')).toEqual({
      stages: [0, 1, 2],
      images: ['node:24-bookworm-slim'],
      contextPaths: ['.npmrc', 'lib', 'operator/src', 'package-lock.json', 'package.json'],
    });
    expect(targetInputs(stages, 'runtime')).toEqual({
      stages: [0, 1, 3, 4],
      images: ['busybox:1', 'debian:bookworm-slim', 'node:24-bookworm-slim'],
      contextPaths: ['.npmrc', 'package-lock.json', 'package.json', 'runtime/src', 'tools.tar'],
    });
    expect(() => targetInputs(stages, 'nope')).toThrow(/no stage named "nope"; targets are: deps, base, operator, tools, runtime/);
  });
  test("the project's Dockerfile: every target's inputs", () => {
    const stages = parseDockerfile(fs.readFileSync(path.resolve(import.meta.dirname, '../../../Dockerfile'), 'utf8'));
    expect(targetInputs(stages, 'runtime').contextPaths).toEqual(['.npmrc', 'lib', 'package-lock.json', 'package.json', 'runtime/src']);
    expect(targetInputs(stages, 'operator').contextPaths).toEqual(['.npmrc', 'crds', 'lib', 'operator/src', 'package-lock.json', 'package.json']);
    expect(targetInputs(stages, 'runtime-gpu').images).toEqual(['node:24-bookworm-slim']);
  });
});

describe('.dockerignore', () => {
  const rules = parseIgnore('# x\nnode_modules\n**/*.test.ts\n.lab/\nlogs/*.log\n!logs/keep.log\n');
  test.each([
    ['node_modules', true],
    ['node_modules/a/b.js', true],
    ['runtime/src/a.test.ts', true],
    ['a.test.ts', true],
    ['runtime/src/a.ts', false],
    ['.lab/kubeconfig', true],
    ['logs/x.log', true],
    ['logs/keep.log', false],
    ['logs/sub/x.log', false],
  ])('%s ignored: %s', (p, want) => {
    expect(isIgnored(rules, p)).toBe(want);
  });
});
