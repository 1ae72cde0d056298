// The RuntimeDefault seccomp profile (pure conversion): the container tools' default profile
// (/usr/share/containers/seccomp.json from Debian's containers-common, the profile Podman and
// CRI-O apply, in moby's format) turned into the OCI form runc reads, for amd64 and the container's
// capabilities — rules gated on a capability apply only when the container has it, as in moby.
import fs from 'node:fs';
import { KubeletError } from './errors.ts';
import type { Seccomp } from './oci-spec.ts';

export const defaultProfileFile = '/usr/share/containers/seccomp.json';

interface Rule {
  names?: string[];
  name?: string;
  action: string;
  args?: unknown[] | null;
  errnoRet?: number;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

export interface MobyProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls: Rule[];
}

/**
 * moby's rule selection: every `includes.caps` present and the arch in `includes.arches` (when
 * given); no `excludes.caps` present and the arch not excluded. `minKernel` is taken as met (the
 * lab's kernel is newer than any the profile names).
 */
export function toOciSeccomp(profile: MobyProfile, caps: readonly string[], arch = 'amd64'): Seccomp {
  const main = arch === 'amd64' ? 'SCMP_ARCH_X86_64' : undefined;
  const entry = profile.archMap?.find((a) => a.architecture === main);
  if (!entry) throw new KubeletError('SECURITY_CONTEXT_INVALID', `the seccomp profile has no entry for ${arch}; reinstall containers-common`);
  const syscalls: Seccomp['syscalls'] = [];
  for (const rule of profile.syscalls) {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(arch)) continue;
    if (inc.caps && inc.caps.length > 0 && !inc.caps.every((c) => caps.includes(c))) continue;
    if (exc.arches && exc.arches.includes(arch)) continue;
    if (exc.caps && exc.caps.some((c) => caps.includes(c))) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (names.length === 0) continue;
    const out: Seccomp['syscalls'][number] = { names, action: rule.action };
    if (rule.args && rule.args.length > 0) out.args = rule.args;
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    syscalls.push(out);
  }
  const spec: Seccomp = { defaultAction: profile.defaultAction, architectures: [entry.architecture, ...(entry.subArchitectures ?? [])], syscalls };
  if (profile.defaultErrnoRet !== undefined) spec.defaultErrnoRet = profile.defaultErrnoRet;
  return spec;
}

let cached: MobyProfile | undefined;

/** The installed default profile, read once. */
export function loadDefaultProfile(file = defaultProfileFile): MobyProfile {
  if (cached && file === defaultProfileFile) return cached;
  let profile: MobyProfile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as MobyProfile;
  } catch (cause) {
    throw new KubeletError('SECURITY_CONTEXT_INVALID', `seccompProfile RuntimeDefault needs ${file} (Debian package containers-common, installed with buildah); ${String(cause)}`, { cause });
  }
  if (file === defaultProfileFile) cached = profile;
  return profile;
}
