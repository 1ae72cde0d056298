#!/usr/bin/env node
// onnx-runtime CLI: parse and validate the configuration once, start the runtime, and map SIGTERM
// and SIGINT to a graceful shutdown. Exit codes: 0 clean shutdown, 1 the model cannot be served,
// 2 invalid configuration.
import { pino } from 'pino';
import { helpText, parseArgs } from './config/config.ts';
import { RuntimeError, errorMessage } from './errors.ts';
import { startRuntime } from './serve.ts';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`onnx-runtime: ${errorMessage(err)}\n`);
    return 2;
  }
  if (parsed.command === 'help') {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const config = parsed.config;
  // Logs go to stderr: stdout is the default prediction-log sink.
  const log = pino({ level: config.logLevel, base: { model: config.modelName, revision: config.revision } }, pino.destination({ fd: 2, sync: false }));
  log.info({ config: { ...config } }, 'starting onnx-runtime');
  const runtime = await startRuntime(config, log);

  let exiting = false;
  const stop = (signal: string) => {
    if (exiting) return;
    exiting = true;
    void runtime.shutdown(signal).then(({ drained }) => {
      log.flush();
      process.exitCode = drained ? 0 : 1;
      // Worker threads and sockets are closed; exit explicitly in case a timer lingers.
      setTimeout(() => process.exit(), 50).unref();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await runtime.loaded;
  } catch (err) {
    const code = err instanceof RuntimeError ? err.code : 'MODEL_LOAD_FAILED';
    process.stderr.write(`onnx-runtime: ${code}: ${errorMessage(err)}\n`);
    await runtime.shutdown('load failed');
    log.flush();
    return 1;
  }
  return -1; // keep serving until a signal arrives
}

main().then(
  (code) => {
    if (code >= 0) {
      process.exitCode = code;
      setTimeout(() => process.exit(), 50).unref();
    }
  },
  (err: unknown) => {
    process.stderr.write(`onnx-runtime: fatal: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
