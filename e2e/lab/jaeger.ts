// Jaeger for the lab: the trace backend runtimes export spans to (OTLP over HTTP) and tests query
// (Jaeger's HTTP API, /api/traces). Jaeger v2 is an OpenTelemetry Collector distribution, built
// from the Go module proxy (e2e/lab/jaeger-build); it runs with in-memory storage, so `lab down`
// leaves nothing. Its OTLP receiver listens on the bridge address, where pods in their network
// namespaces reach it (and the host too); everything else listens on loopback.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { labNetwork, labPaths, labPorts } from './lab-config.ts';
import type { DaemonSpec } from './processes.ts';

export const jaegerQueryUrl = `http://127.0.0.1:${labPorts.jaegerQuery}`;
export const jaegerHealthUrl = `http://127.0.0.1:${labPorts.jaegerHealth}/status`;
/** What a runtime's OTEL_EXPORTER_OTLP_ENDPOINT is set to (pods and host processes alike). */
export const jaegerOtlpEndpoint = `http://${labNetwork.bridgeAddress}:${labPorts.jaegerOtlp}`;
export const jaegerConfigFile = path.join(labPaths.dir, 'jaeger.yaml');

/** Where Jaeger's listeners are (host:port): the lab's, or loopback ports of the caller's (bench:runtime). */
export interface JaegerListen {
  otlpHttp: string;
  query: string;
  queryGrpc: string;
  health: string;
}

export const labJaegerListen: JaegerListen = {
  otlpHttp: `${labNetwork.bridgeAddress}:${labPorts.jaegerOtlp}`,
  query: `127.0.0.1:${labPorts.jaegerQuery}`,
  queryGrpc: `127.0.0.1:${labPorts.jaegerQueryGrpc}`,
  health: `127.0.0.1:${labPorts.jaegerHealth}`,
};

export function jaegerConfig(listen: JaegerListen = labJaegerListen): object {
  const storage = 'lab_memory';
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
      pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] } },
      // No self-telemetry listener (its default port, 8888, is not the lab's to take).
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      healthcheckv2: { use_v2: true, http: { endpoint: listen.health } },
      jaeger_query: { storage: { traces: storage }, http: { endpoint: listen.query }, grpc: { endpoint: listen.queryGrpc } },
      jaeger_storage: { backends: { [storage]: { memory: { max_traces: 100_000 } } } },
    },
    receivers: { otlp: { protocols: { http: { endpoint: listen.otlpHttp } } } },
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: storage } },
  };
}

/** Writes the config and returns the command line that runs Jaeger with it. */
export function jaegerCommand(binary: string, configFile: string, listen: JaegerListen = labJaegerListen): { command: string; args: string[] } {
  fs.writeFileSync(configFile, stringify(jaegerConfig(listen)));
  return { command: binary, args: ['--config', configFile] };
}

export function jaegerSpec(binary: string): DaemonSpec {
  return { name: 'jaeger', ...jaegerCommand(binary, jaegerConfigFile) };
}

/** A span as Jaeger's HTTP API returns it (the fields tests read). */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** One trace by id, or undefined while Jaeger has none (404). */
export async function jaegerTrace(traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${jaegerQueryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`jaeger: GET /api/traces/${traceId} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { data: JaegerTrace[] };
  return body.data[0];
}

/** A span's tag value by key. */
export const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;
