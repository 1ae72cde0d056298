// Takes down the lab the run started; `down` itself fails when any lab process, listening port,
// network namespace or the bridge is left behind, which fails the run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const startedMarker = path.join(root, '.lab', 'run', 'started-by-tests');

export default function globalTeardown(): void {
  if (!fs.existsSync(startedMarker) || process.env.ONNXOP_KEEP_LAB === '1') return;
  fs.rmSync(startedMarker, { force: true });
  execFileSync(process.execPath, [path.join(root, 'e2e/lab/cli.ts'), 'down'], { stdio: ['ignore', 'inherit', 'inherit'] });
}
