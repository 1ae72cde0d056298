// One lab per integration run. A lab that is already up (a developer's) is reused and left running;
// one this run started is taken down by the global tear-down.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
export const startedMarker = path.join(root, '.lab', 'run', 'started-by-tests');

function labState(): 'up' | 'partial' | 'down' {
  try {
    const out = execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'status'], { encoding: 'utf8' });
    if (!out.includes('api server ready: true')) return 'down';
    return out.includes('stopped') ? 'partial' : 'up';
  } catch {
    return 'down';
  }
}

export default function globalSetup(): void {
  const state = labState();
  if (state === 'up') {
    process.stderr.write('\n[lab] reusing the running lab\n');
    return;
  }
  process.stderr.write(`\n[lab] ${state === 'partial' ? 'completing the running lab' : 'bringing the lab up'} for the integration tests\n`);
  // `up` is idempotent: it starts only the missing parts.
  execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'up'], { stdio: ['ignore', 'inherit', 'inherit'] });
  // Only a lab this run created from nothing is taken down afterwards.
  if (state === 'down') {
    fs.mkdirSync(path.dirname(startedMarker), { recursive: true });
    fs.writeFileSync(startedMarker, `${process.pid}\n`);
  }
}
