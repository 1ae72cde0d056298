// What an image built from a Dockerfile target depends on (pure): the stages the target reaches
// (FROM another stage, COPY --from a stage), the images from outside it names, and the build-context
// paths its COPY/ADD lines read; plus the .dockerignore rules that take files out of the context.
// The lab's image cache keys every image by a hash of exactly these inputs.

export interface Copy {
  /** A stage name or index, or an outside image; undefined for the build context. */
  from?: string;
  sources: string[];
}

export interface Stage {
  index: number;
  name?: string;
  /** The FROM image or stage. */
  from: string;
  copies: Copy[];
}

export class DockerfileError extends Error {
  readonly code = 'DOCKERFILE_INVALID';
}

/** Logical lines: comments dropped, backslash continuations joined. */
export function logicalLines(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (current === '' && /^\s*#/.test(line)) continue;
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') out.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

function copyArgs(rest: string): { flags: Record<string, string>; paths: string[] } {
  const flags: Record<string, string> = {};
  let body = rest.trim();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(body);
    if (!m || !m[1]) break;
    flags[m[1]] = m[2] ?? 'true';
    body = body.slice(m[0].length);
  }
  const paths = body.startsWith('[') ? (JSON.parse(body) as string[]) : body.split(/\s+/).filter((p) => p !== '');
  return { flags, paths };
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const m = /^(\w+)\s+(.*)$/s.exec(line);
    if (!m || !m[1]) continue;
    const instruction = m[1].toUpperCase();
    const rest = m[2] ?? '';
    if (instruction === 'FROM') {
      const parts = rest.split(/\s+/).filter((p) => !p.startsWith('--'));
      const from = parts[0];
      if (!from) throw new DockerfileError(`FROM without an image: "${line}"`);
      const stage: Stage = { index: stages.length, from, copies: [] };
      if (parts[1]?.toUpperCase() === 'AS' && parts[2]) stage.name = parts[2];
      stages.push(stage);
    } else if (instruction === 'COPY' || instruction === 'ADD') {
      const stage = stages[stages.length - 1];
      if (!stage) throw new DockerfileError(`${instruction} before the first FROM: "${line}"`);
      const { flags, paths } = copyArgs(rest);
      if (paths.length < 2) throw new DockerfileError(`${instruction} needs a source and a destination: "${line}"`);
      const copy: Copy = { sources: paths.slice(0, -1) };
      if (flags['from'] !== undefined) copy.from = flags['from'];
      stage.copies.push(copy);
    }
  }
  return stages;
}

function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  return stages.find((s) => s.index < before && (s.name === ref || String(s.index) === ref));
}

export interface TargetInputs {
  /** Stage indexes the target is built from, in file order. */
  stages: number[];
  /** Images from outside the Dockerfile (FROM and COPY --from), sorted, scratch left out. */
  images: string[];
  /** Build-context paths read by COPY/ADD of those stages, sorted and de-duplicated. */
  contextPaths: string[];
}

export function targetInputs(stages: Stage[], target: string): TargetInputs {
  const start = stages.find((s) => s.name === target);
  if (!start) throw new DockerfileError(`no stage named "${target}"; targets are: ${stages.map((s) => s.name).filter(Boolean).join(', ')}`);
  const seen = new Set<number>();
  const images = new Set<string>();
  const paths = new Set<string>();
  const visit = (stage: Stage): void => {
    if (seen.has(stage.index)) return;
    seen.add(stage.index);
    const parent = findStage(stages, stage.from, stage.index);
    if (parent) visit(parent);
    else if (stage.from !== 'scratch') images.add(stage.from);
    for (const c of stage.copies) {
      if (c.from === undefined) {
        for (const p of c.sources) paths.add(p.replace(/^\.\//, '').replace(/\/$/, '') || '.');
        continue;
      }
      const source = findStage(stages, c.from, stage.index);
      if (source) visit(source);
      else images.add(c.from);
    }
  };
  visit(start);
  return { stages: [...seen].sort((a, b) => a - b), images: [...images].sort(), contextPaths: [...paths].sort() };
}

/** .dockerignore rules: `*` within a path segment, `**` across segments, `!` re-includes. */
export function parseIgnore(text: string): { pattern: RegExp; negate: boolean }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < glob.length; i++) {
        const ch = glob[i] ?? '';
        if (ch === '*' && glob[i + 1] === '*') {
          re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
          i += glob[i + 2] === '/' ? 2 : 1;
        } else if (ch === '*') re += '[^/]*';
        else if (ch === '?') re += '[^/]';
        else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      // A rule that names a directory excludes everything below it.
      return { pattern: new RegExp(`^${re}(?:/.*)?$`), negate };
    });
}

export function isIgnored(rules: ReturnType<typeof parseIgnore>, relPath: string): boolean {
  let ignored = false;
  for (const r of rules) if (r.pattern.test(relPath)) ignored = !r.negate;
  return ignored;
}
