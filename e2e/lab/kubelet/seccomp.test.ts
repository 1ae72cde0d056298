import { loadDefaultProfile, toOciSeccomp, type MobyProfile } from './seccomp.ts';

const profile: MobyProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['arm_fadvise64_64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
  ],
};

describe('toOciSeccomp (RuntimeDefault for amd64)', () => {
  test('architecture rules and capability-gated rules follow the container', () => {
    const plain = toOciSeccomp(profile, ['CAP_CHOWN']);
    expect(plain.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(plain.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(plain.defaultErrnoRet).toBe(38);
    const names = plain.syscalls.map((s) => `${s.names.join(',')}:${s.action}`);
    expect(names).toEqual(['read,write:SCMP_ACT_ALLOW', 'arch_prctl:SCMP_ACT_ALLOW', 'mount:SCMP_ACT_ERRNO', 'personality:SCMP_ACT_ALLOW']);
    expect(plain.syscalls.find((s) => s.names[0] === 'mount')?.errnoRet).toBe(1);
    const admin = toOciSeccomp(profile, ['CAP_SYS_ADMIN']);
    expect(admin.syscalls.filter((s) => s.names[0] === 'mount').map((s) => s.action)).toEqual(['SCMP_ACT_ALLOW']);
  });

  test('the installed containers-common profile converts, and blocks what a container must not do', () => {
    const oci = toOciSeccomp(loadDefaultProfile(), []);
    const allowed = new Set(oci.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names));
    for (const s of ['read', 'write', 'openat', 'epoll_wait', 'futex', 'clone']) expect(allowed.has(s)).toBe(true);
    // Podman's profile leaves mount, ptrace and reboot to the capabilities; these it denies outright.
    for (const s of ['kexec_load', 'init_module', 'delete_module', 'bpf', 'open_by_handle_at']) expect(allowed.has(s)).toBe(false);
  });
});
