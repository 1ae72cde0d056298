// Interop with the real Triton clients, run in test set-up like the signing tools' interop tests:
// tritonclient[grpc,http] from PyPI (a pinned venv made by runtime/test-support/setup-tritonclient.sh)
// drives a child runtime over gRPC and REST (runtime/test-support/tritonclient_interop.py): health,
// server and model metadata, infer single and batched, request ids, output selection, compressed
// requests, every datatype through raw contents, and errors with their status codes. If the client
// cannot be installed the suite fails with pip's own error (no skip).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serveChild, type ServedChild } from '../../test-support/child-runtime.ts';
import { metricValue, post } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);
const SUPPORT = fileURLToPath(new URL('../../test-support/', import.meta.url));
// A first-time pip install of the client (a few tens of MB) can take minutes; then it is cached.
const SETUP_TIMEOUT_MS = 15 * 60_000;

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, timeout: SETUP_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

let python = '';
beforeAll(() => {
  python = run('bash', [`${SUPPORT}setup-tritonclient.sh`]).trim().split('\n').pop()!;
}, SETUP_TIMEOUT_MS);

/** What the clients saw, per protocol (JSON printed by the Python script). */
type Seen = Record<'grpc' | 'http', any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function drive(kind: 'classifier' | 'all_types', rt: ServedChild): Seen {
  return JSON.parse(run(python, [`${SUPPORT}tritonclient_interop.py`, kind, `127.0.0.1:${rt.grpcPort}`, `127.0.0.1:${rt.port}`]));
}

describe('tritonclient (grpc and http) against the classifier', () => {
  let rt: ServedChild;
  let seen: Seen;
  beforeAll(async () => {
    rt = await serveChild('classifier');
    seen = drive('classifier', rt);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    expect(await rt.stop()).toBe(0);
  });

  test('health and metadata are the same over gRPC and REST', () => {
    const model = {
      name: 'classifier',
      versions: ['r1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
    };
    for (const proto of ['grpc', 'http'] as const) {
      expect([proto, seen[proto].live, seen[proto].ready, seen[proto].model_ready]).toEqual([proto, true, true, true]);
      expect(seen[proto].server_metadata).toEqual({ name: 'onnx-operator-runtime', version: '0.1.0', extensions: ['binary_tensor_data', 'model_feedback'] });
      expect(seen[proto].model_metadata).toEqual(model);
    }
  });

  test('infer, single and batched: gRPC, tritonclient http and our own REST client agree', async () => {
    const rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 4.4, 1.4], [6.3, 3.3, 6.0, 2.5], [0, 0, 0, 0], [-1, 2, -3, 4], [9, 9, 9, 9], [1, 1, 1, 1], [0.5, 0.25, 0.125, 2]];
    const rest = await post(`${rt.url}/v2/models/classifier/infer`, { inputs: [{ name: 'features', shape: [8, 4], datatype: 'FP32', data: rows }] });
    const byName = Object.fromEntries(rest.json.outputs.map((o: { name: string; data: unknown[] }) => [o.name, o.data]));
    for (const proto of ['grpc', 'http'] as const) {
      const b = seen[proto].batched;
      expect(b.label).toEqual(byName.label);
      expect(b.probabilities.flat()).toEqual(byName.probabilities);
      expect(seen[proto].single.label).toEqual([b.label[0]]);
      expect(seen[proto].single.probabilities).toEqual([b.probabilities[0]]);
      expect(seen[proto].with_id.id).toBe('interop-42');
      expect(seen[proto].single.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  test('output selection and compressed requests (gRPC gzip; REST gzip and deflate)', () => {
    for (const proto of ['grpc', 'http'] as const) {
      expect(seen[proto].selected.label).toBeNull();
      expect(seen[proto].selected.probabilities).toEqual(seen[proto].batched.probabilities);
      expect(seen[proto].compressed.probabilities).toEqual(seen[proto].batched.probabilities);
    }
    expect(seen.http.compressed_deflate.label).toEqual(seen.http.batched.label);
  });

  test('errors: gRPC status codes and REST statuses, the same messages, counted as client errors', async () => {
    const messages = {
      unknown_model: /model "nope" is not served here; this server serves "classifier"/,
      unknown_model_infer: /model "nope" is not served here/,
      wrong_shape: /inputs\[features\]\.shape\[1\] is 5; the model expects 4/,
      wrong_datatype: /inputs\[features\]\.datatype is FP64 but the model expects FP32/,
      unknown_input: /"x" is not an input of this model; its inputs are: features/,
      unknown_output: /"nope" is not an output of this model; its outputs are: label, probabilities/,
    };
    const grpcStatus = { unknown_model: 'StatusCode.NOT_FOUND', unknown_model_infer: 'StatusCode.NOT_FOUND' };
    const httpStatus = { unknown_model: '404', unknown_model_infer: '404' };
    for (const [name, message] of Object.entries(messages)) {
      expect([name, seen.grpc.errors[name]]).toEqual([name, { status: grpcStatus[name as keyof typeof grpcStatus] ?? 'StatusCode.INVALID_ARGUMENT', message: expect.stringMatching(message) }]);
      expect([name, seen.http.errors[name]]).toEqual([name, { status: httpStatus[name as keyof typeof httpStatus] ?? '400', message: expect.stringMatching(message) }]);
    }
    const metrics = await rt.metrics();
    // 5 failed infers per protocol (the unknown model's metadata is not an inference request).
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'client_error' })).toBe(10);
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'server_error' })).toBe(0);
  });
});

describe('tritonclient against all_types', () => {
  test('every datatype round-trips through raw contents, over gRPC and REST', async () => {
    const rt = await serveChild('all_types');
    try {
      const seen = drive('all_types', rt);
      const all = { FP32: true, FP64: true, FP16: true, INT8: true, INT16: true, INT32: true, INT64: true, UINT8: true, UINT16: true, UINT32: true, UINT64: true, BOOL: true, BYTES: true };
      expect(seen.grpc.round_trip).toEqual(all);
      expect(seen.http.round_trip).toEqual(all);
    } finally {
      await rt.stop();
    }
  });
});
