// Loaded with `node --import` into a child runtime (tracing-off.test.ts): reports on stderr every
// module specifier under @opentelemetry/ the process resolves, so a test can tell whether the SDK
// was loaded at all.
import { registerHooks } from 'node:module';

process.stderr.write('{"otelProbe":"active"}\n');
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('@opentelemetry/')) process.stderr.write(`${JSON.stringify({ otelModule: specifier })}\n`);
    return nextResolve(specifier, context);
  },
});
