import { describe, expect, test } from '@jest/globals';
import { parseArgs } from './config.ts';
import { cpusFromCpuMax } from '../model/threads.ts';

const base = { ONNXOP_MODEL_NAME: 'm', ONNXOP_MODEL_URI: '/models/m.onnx', ONNXOP_MODEL_DIGEST: 'sha256:' + 'a'.repeat(64) };

describe('config', () => {
  test('environment supplies values, flags win, defaults fill the rest', () => {
    const parsed = parseArgs(['serve', '--port', '9000', '--cpu-fallback', '--execution-provider=cuda'], { ...base, PORT: '7000', ONNXOP_REVISION: 'abc123', ONNXOP_MAX_BATCH_SIZE: '8' });
    expect(parsed.command).toBe('serve');
    if (parsed.command !== 'serve') return;
    expect(parsed.config).toMatchObject({ modelName: 'm', port: 9000, revision: 'abc123', maxBatchSize: 8, cpuFallback: true, executionProvider: 'cuda', host: '0.0.0.0', requestTimeoutMs: 30000, threadSpinning: false });
    expect(Object.isFrozen(parsed.config)).toBe(true);
  });

  test.each([
    [['--port=70000'], /--port \(PORT\) must be between 0 and 65535/],
    [['--graph-optimization=max'], /must be one of disabled, basic, extended, all/],
    [['--prediction-log=kafka'], /must be stdout, none or file:<path>/],
    [['--model-uri=s3://bucket/m.onnx'], /must start with file:\/\/, https:\/\/, http:\/\/, oci:\/\//],
    [['--cpu-fallback'], /only applies with --execution-provider=cuda/],
    [['--warmup=maybe'], /--warmup \(ONNXOP_WARMUP\) must be true or false/],
    [['--model-name=bad name'], /--model-name .* must be 1–128 characters/],
    [['--inline-run-max-ms=fast'], /--inline-run-max-ms \(ONNXOP_INLINE_RUN_MAX_MS\) must be a non-negative number/],
    [['--inline-run-max-ms=5000'], /--inline-run-max-ms \(ONNXOP_INLINE_RUN_MAX_MS\) must be between 0 and 1000/],
  ])('%j is refused with a message naming the flag', (args, message) => {
    expect(() => parseArgs(['serve', ...args], base)).toThrow(message);
  });

  test('--inline-run-max-ms takes fractions, from the flag or ONNXOP_INLINE_RUN_MAX_MS; default 1', () => {
    const get = (args: string[], env: Record<string, string> = {}) => {
      const p = parseArgs(['serve', ...args], { ...base, ...env });
      return p.command === 'serve' ? p.config.inlineRunMaxMs : undefined;
    };
    expect(get([])).toBe(1);
    expect(get(['--inline-run-max-ms=0.25'])).toBe(0.25);
    expect(get([], { ONNXOP_INLINE_RUN_MAX_MS: '0' })).toBe(0);
  });

  test('cgroup v2 cpu.max sizes the thread pool', () => {
    expect(cpusFromCpuMax('max 100000\n')).toBeUndefined();
    expect(cpusFromCpuMax('200000 100000')).toBe(2);
    expect(cpusFromCpuMax('150000 100000')).toBe(2);
    expect(cpusFromCpuMax('50000 100000')).toBe(1);
  });
});
