// Shared test harness: builds the test models (once per change of the build script), starts the
// runtime in-process on 127.0.0.1:0, and speaks HTTP to it.
import { pino } from 'pino';
import { ensureTestModels, type TestModelName, type TestModel } from '../test-models/build.ts';
import { parseArgs, type RuntimeConfig } from '../src/config/config.ts';
import { startRuntime, type RunningRuntime } from '../src/serve.ts';

export const models = (): Record<TestModelName, TestModel> => ensureTestModels();

export function testConfig(model: TestModelName, overrides: Partial<RuntimeConfig> = {}): RuntimeConfig {
  const m = models()[model];
  const parsed = parseArgs(['serve', `--model-name=${model}`, `--model-uri=${m.path}`, `--model-digest=${m.digest}`, '--port=0', '--grpc-port=0', '--host=127.0.0.1', '--revision=r1', '--prediction-log=none', '--threads=1', '--max-concurrent-runs=1'], {});
  if (parsed.command !== 'serve') throw new Error('unreachable');
  return { ...parsed.config, ...overrides };
}

export const silentLog = pino({ level: 'silent' });

export async function start(model: TestModelName, overrides: Partial<RuntimeConfig> = {}): Promise<RunningRuntime & { url: string }> {
  const rt = await startRuntime(testConfig(model, overrides), silentLog);
  return Object.assign(rt, { url: `http://127.0.0.1:${rt.port}` });
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  bytes: Buffer;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, bytes };
}

export const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> =>
  request(url, { method: 'POST', body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

/** The value of one series in Prometheus text format (labels matched as given, any order). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const brace = line.indexOf('{');
    const labelText = brace === -1 || brace > name.length ? '' : line.slice(brace + 1, line.lastIndexOf('}'));
    if (line.slice(0, brace === -1 ? line.indexOf(' ') : brace) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * Polls `check` every `everyMs` until it returns a value other than undefined; fails after
 * `timeoutMs` saying what it waited for. For waiting on a state rather than for a fixed time.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, o: { everyMs: number; timeoutMs: number }): Promise<T> {
  const deadline = performance.now() + o.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${Math.round(o.timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, o.everyMs));
  }
}
