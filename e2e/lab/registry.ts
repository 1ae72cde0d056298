// The lab registry: Debian's docker-registry (the CNCF distribution registry) on loopback, plain
// HTTP, storage kept across lab restarts (content-addressed, so a re-push of an unchanged image
// uploads nothing). The lab pushes its images here; the lab kubelet pulls every pod's image from it.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { labPaths, labRegistry, registryDataDir } from './lab-config.ts';
import type { DaemonSpec } from './processes.ts';

export const registryBin = '/usr/bin/docker-registry';
export const registryUrl = `http://${labRegistry}`;
export const registryConfigFile = path.join(labPaths.dir, 'registry.yml');

export function registryConfig(listen: string, dataDir: string): object {
  return {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: dataDir }, delete: { enabled: true } },
    http: { addr: listen, headers: { 'X-Content-Type-Options': ['nosniff'] } },
  };
}

/** A registry on `listen` (host:port) storing in `dataDir`; the config file goes next to the data. */
export function registrySpec(opts: { name?: string; listen?: string; dataDir?: string; configFile?: string } = {}): DaemonSpec {
  const dataDir = opts.dataDir ?? registryDataDir;
  const configFile = opts.configFile ?? registryConfigFile;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
  fs.writeFileSync(configFile, stringify(registryConfig(opts.listen ?? labRegistry, dataDir)));
  return { name: opts.name ?? 'registry', command: registryBin, args: ['serve', configFile] };
}
