// "Off costs nothing": with tracing off the runtime never loads the OpenTelemetry SDK. (The API
// package, @opentelemetry/api, is loaded either way: prom-client requires it for exemplars.)
// A real child runtime with a module-resolution probe (test-support/otel-load-probe.ts) serves a
// request; the same runtime with an OTLP endpoint set shows that the probe does see the SDK load.
import { describe, expect, jest, test } from '@jest/globals';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRuntime } from '../../test-support/child-runtime.ts';
import { models, post } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

const PROBE = fileURLToPath(new URL('../../test-support/otel-load-probe.ts', import.meta.url));

async function servedOnce(env: Record<string, string>): Promise<string> {
  const m = models().logreg;
  const rt = startRuntime(['--model-name=logreg', `--model-uri=${m.path}`, `--model-digest=${m.digest}`, '--threads=1', '--max-concurrent-runs=1'], { NODE_OPTIONS: `--import=${pathToFileURL(PROBE).href}`, ...env });
  try {
    const port = await rt.port;
    const res = await post(`http://127.0.0.1:${port}/v2/models/logreg/infer`, { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(res.status).toBe(200);
  } finally {
    const exited = new Promise((r) => rt.child.once('exit', r));
    rt.child.kill('SIGTERM');
    await exited;
  }
  return rt.log();
}

describe('tracing off', () => {
  test('no OpenTelemetry SDK module is resolved without an endpoint; with one, the SDK is', async () => {
    const loaded = (log: string) => [...log.matchAll(/"otelModule":"([^"]+)"/g)].map((m) => m[1]);
    const off = await servedOnce({});
    expect(off).toContain('"otelProbe":"active"');
    expect(loaded(off).filter((m) => m !== '@opentelemetry/api')).toEqual([]);
    const on = await servedOnce({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(on).toContain('"otelModule":"@opentelemetry/sdk-trace"');
    expect(on).toContain('"msg":"tracing on: exporting spans over OTLP/HTTP"');
  });
});
