// One lab per integration run. A lab that is already up (a developer's) is reused and left running;
// one this run started is taken down by the global tear-down.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
export const startedMarker = path.join(root, '.lab', 'run', 'started-by-tests');

function labIsUp(): boolean {
  try {
    const out = execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'status'], { encoding: 'utf8' });
    return out.includes('api server ready: true') && !out.includes('stopped');
  } catch {
    return false;
  }
}

export default function globalSetup(): void {
  if (labIsUp()) {
    process.stderr.write('\n[lab] reusing the running lab\n');
    return;
  }
  process.stderr.write('\n[lab] bringing the lab up for the integration tests\n');
  execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'up'], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.mkdirSync(path.dirname(startedMarker), { recursive: true });
  fs.writeFileSync(startedMarker, `${process.pid}\n`);
}
