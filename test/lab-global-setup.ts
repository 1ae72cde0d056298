// One lab per integration run. A lab that is already up (a developer's) is reused and left running;
// one this run started is taken down by the global tear-down. The images pods run are rebuilt where
// the tree changed (and pushed) first, and the operators the tests start get the runtime image by
// digest (RUNTIME_IMAGE, which the operator reads for --runtime-image).
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

const labDir = path.join(root, '.lab');

/** Images current with the tree: rebuilt and pushed where inputs changed, else reused. */
function useCurrentImages(rebuild: boolean): void {
  if (rebuild) execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'images'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const digests = JSON.parse(fs.readFileSync(path.join(labDir, 'image-digests.json'), 'utf8')) as { refs: Record<string, string> };
  // Test workers start after the global set-up and inherit this environment.
  if (digests.refs['runtime']) process.env['RUNTIME_IMAGE'] = digests.refs['runtime'];
}

export default function globalSetup(): void {
  const state = labState();
  if (state === 'up') {
    process.stderr.write('\n[lab] reusing the running lab\n');
    useCurrentImages(true);
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
  // `up` built and pushed them.
  useCurrentImages(false);
}
