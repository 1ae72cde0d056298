// The images themselves, built (or reused) from the Dockerfile users build: what they run as, that
// an unchanged tree rebuilds nothing, and that the GPU runtime carries CUDA 13, cuDNN 9 and
// onnxruntime's CUDA provider with every library resolving except the driver's — and, with no GPU
// here, stops with the runtime's visible CUDA error. Runs in the image store with buildah (the lab's
// pods run the CPU images; see e2e/lab/kubelet/runc-engine.int.test.ts and test/images.int.test.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureTestModels } from '../../../runtime/test-models/build.ts';
import { buildah, buildImages, type BuiltImage } from './build.ts';

const run = promisify(execFile);
let built: BuiltImage[] = [];
const containers: string[] = [];

beforeAll(async () => {
  built = await buildImages({ only: ['operator', 'runtime', 'runtime-gpu'], log: (m) => process.stderr.write(`[images] ${m}\n`) });
}, 3_600_000);

afterAll(async () => {
  for (const c of containers) await run('buildah', buildah('rm', c)).catch(() => undefined);
});

async function config(tag: string): Promise<{ User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[] }> {
  const { stdout } = await run('buildah', buildah('inspect', '--type', 'image', tag), { maxBuffer: 16 * 1024 * 1024 });
  return (JSON.parse(stdout) as { OCIv1: { config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[] } } }).OCIv1.config;
}

/** Runs a command in a fresh working container of the image (buildah run, chroot isolation). */
async function inImage(tag: string, argv: string[], opts: { mounts?: string[]; env?: Record<string, string> } = {}): Promise<{ code: number; output: string }> {
  const { stdout } = await run('buildah', buildah('from', '--pull-never', tag));
  const ctr = stdout.trim();
  containers.push(ctr);
  const args = buildah('run', '--isolation', 'chroot', ...(opts.mounts ?? []).flatMap((m) => ['-v', m]), ...Object.entries(opts.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]), ctr, '--', ...argv);
  try {
    const r = await run('buildah', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('every image runs as the non-root user 65532 with the entrypoint the Dockerfile names', async () => {
  expect(built.map((b) => b.name)).toEqual(['operator', 'runtime', 'runtime-gpu']);
  const op = await config('ghcr.io/onnx-operator/operator:dev');
  expect(op.User).toBe('65532:65532');
  expect(op.Entrypoint).toEqual(['node', 'operator/src/main.ts']);
  const rt = await config('ghcr.io/onnx-operator/runtime:dev');
  expect(rt.User).toBe('65532:65532');
  expect([...(rt.Entrypoint ?? []), ...(rt.Cmd ?? [])]).toEqual(['node', 'runtime/src/main.ts', 'serve']);
  const gpu = await config('ghcr.io/onnx-operator/runtime:dev-gpu');
  expect(gpu.User).toBe('65532:65532');
  expect(gpu.Cmd).toEqual(['serve', '--execution-provider=cuda']);
  expect(gpu.Env).toContain('LD_LIBRARY_PATH=/usr/local/lib/onnxop-cuda');
});

test('an unchanged tree rebuilds nothing', async () => {
  const again = await buildImages({ only: ['operator', 'runtime', 'runtime-gpu'], log: () => undefined });
  expect(again.map((b) => [b.name, b.built, b.imageId])).toEqual(built.map((b) => [b.name, false, b.imageId]));
});

test("the GPU runtime has CUDA 13, cuDNN 9 and onnxruntime's CUDA provider; only the GPU driver's libcuda is left to the node", async () => {
  const dir = 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64';
  const { code, output } = await inImage('ghcr.io/onnx-operator/runtime:dev-gpu', [
    'sh', '-c',
    `ls /usr/local/lib/onnxop-cuda && for f in ${dir}/libonnxruntime_providers_cuda.so ${dir}/libonnxruntime_providers_shared.so /usr/local/lib/onnxop-cuda/*.so*; do ldd "$f"; done | grep 'not found' | sort -u; true`,
  ]);
  expect(code).toBe(0);
  for (const lib of ['libcudart.so.13', 'libcublas.so.13', 'libcublasLt.so.13', 'libcufft.so.12', 'libcurand.so.10', 'libcudnn.so.9', 'libnvJitLink.so.13', 'libnvrtc.so.13']) expect(output).toContain(lib);
  const missing = output.split('\n').filter((l) => l.includes('not found')).map((l) => l.trim().split(' ')[0]);
  expect(new Set(missing)).toEqual(new Set(missing.filter((m) => m === 'libcuda.so.1')));
});

test('without a GPU the GPU runtime stops with its visible CUDA error (after loading the provider)', async () => {
  const { logreg } = ensureTestModels();
  const { code, output } = await inImage('ghcr.io/onnx-operator/runtime:dev-gpu', ['node', 'runtime/src/main.ts', 'serve', '--execution-provider=cuda'], {
    mounts: [`${logreg.path}:/models/logreg.onnx:ro`],
    env: { ONNXOP_MODEL_URI: 'file:///models/logreg.onnx', ONNXOP_MODEL_DIGEST: logreg.digest, ONNXOP_MODEL_NAME: 'logreg', PORT: '18931' },
  });
  expect(code).not.toBe(0);
  expect(output).toContain('the CUDA execution provider could not be started');
  // The provider library and its CUDA/cuDNN dependencies loaded: what fails is the missing driver/device.
  expect(output).not.toMatch(/lib(cudart|cublas|cublasLt|cudnn|cufft|curand|onnxruntime_providers_cuda)[^ ]*: cannot open shared object file/);
});
