// pino JSON logs with Kubernetes-style keys; secrets never reach a log: the redact paths cover the
// places a credential could travel in our objects.
import pino, { type Logger } from 'pino';

export function createLogger(level: string, name = 'onnx-operator'): Logger {
  return pino({
    name,
    level,
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.token', '*.password', '*.authorization', '*.headers.authorization', '*.privateKey', '*.clientKey', 'err.config'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
