// Container logs: <logDir>/<namespace>_<pod>_<container>.log, appended across restarts; the
// container's own output goes there (runc-engine.ts), and so do the kubelet's notes about it.
import fs from 'node:fs';
import path from 'node:path';

export function containerLogPath(logDir: string, namespace: string, pod: string, container: string): string {
  return path.join(logDir, `${namespace}_${pod}_${container}.log`);
}

export function writeLogLine(logFile: string, line: string): void {
  try {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.appendFileSync(logFile, line.endsWith('\n') ? line : `${line}\n`);
  } catch {
    // Logging the kubelet's own notes into a container log is best effort.
  }
}
