// The shadow listener (docs/rollout.md, "Shadow steps"): a port apart from the client port, where the
// gateway's RequestMirror sends copies of live requests during a shadow step. A mirrored request is
// run on this revision (the canary) and, at the same time, sent to the stable revision's shadow
// port marked as a compare request; both answers are compared row by row (compare.ts) and counted
// (shadow-metrics.ts). The gateway discards what this port answers. Nothing here touches the
// client series (onnxop_requests_total, model health, prediction log, ground truth): the SLOs and
// the quality gates never see shadow traffic as client traffic.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HEADER_REVISION, HEADER_SHADOW, SHADOW_COMPARE, type ShadowOutcome } from '../../../lib/contract/index.ts';
import { RuntimeError, errorMessage } from '../errors.ts';
import type { Codec } from '../protocol/codec.ts';
import type { HostTensor } from '../protocol/datatypes.ts';
import type { App } from '../server/app.ts';
import { ByteBudget, Reservation, lingerClose, readBody } from '../server/body.ts';
import { askStable, type CompareCall, type CompareTarget } from './compare-client.ts';
import { compareOutputs } from './compare.ts';
import { decodeInferResponse } from './response.ts';
import type { ShadowMetrics } from './shadow-metrics.ts';

export interface ShadowOptions {
  host: string;
  port: number;
  modelName: string;
  revision: string;
  maxBodyBytes: number;
  budget: ByteBudget;
  bodyTimeoutMs: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxHeaderBytes: number;
  /** The stable revision's shadow port; undefined: mirrored requests are run but not compared. */
  compare: CompareTarget | undefined;
  /** Shadow requests handled at once; beyond, 429 (and, for mirrors, outcome skipped). */
  maxInFlight: number;
  codec: Codec;
  metrics: ShadowMetrics;
  log: Logger;
}

export interface ShadowServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

interface Ran {
  status: number;
  body: Buffer | string;
  headers: Record<string, string | number>;
  outputs?: Map<string, HostTensor>;
  rows?: number;
}

/** Which side a failed comparison blames: a canary that cannot answer what stable answers, or stable. */
export function shadowOutcome(canaryStatus: number, stable: CompareCall): ShadowOutcome {
  if (!stable.ok || stable.answer.status >= 500 || stable.answer.status === 429) return canaryStatus >= 400 && canaryStatus < 500 && canaryStatus !== 429 ? 'skipped' : 'stable_error';
  if (stable.answer.status >= 400) return canaryStatus >= 400 && canaryStatus < 500 && canaryStatus !== 429 ? 'skipped' : 'stable_error';
  return canaryStatus === 200 ? 'agree' : 'canary_error';
}

export function startShadowServer(app: App, o: ShadowOptions): Promise<ShadowServer> {
  const base = `/v2/models/${encodeURIComponent(o.modelName)}`;
  const inferPaths = new Set([`${base}/infer`, `${base}/versions/${encodeURIComponent(o.revision)}/infer`]);
  let inFlight = 0;

  const run = async (body: Buffer, jsonLength: number | undefined, start: number): Promise<Ran> => {
    try {
      const m = app.servingModel();
      const request = await o.codec.decode(body, jsonLength, m.signature);
      const remaining = Math.max(1, Math.ceil(o.requestTimeoutMs - (performance.now() - start)));
      const outputs = await m.scheduler.submit(request.inputs, request.rows, remaining);
      const selected = request.outputs.map((r) => {
        const tensor = outputs.get(r.name);
        if (!tensor) throw new RuntimeError('INFERENCE_FAILED', `the model produced no output "${r.name}"`, { status: 500 });
        return { name: r.name, tensor, binary: r.binary };
      });
      const encoded = await o.codec.encode({ model: o.modelName, revision: o.revision, id: request.id ?? '', outputs: selected, log: undefined });
      const headers: Record<string, string | number> = { 'content-type': encoded.contentType };
      if (encoded.jsonLength !== undefined) headers['inference-header-content-length'] = encoded.jsonLength;
      return { status: 200, body: encoded.body, headers, outputs, rows: request.rows };
    } catch (err) {
      const status = err instanceof RuntimeError ? err.status : 500;
      return { status, body: JSON.stringify({ error: errorMessage(err) }), headers: { 'content-type': 'application/json' } };
    }
  };

  const compare = (ran: Ran, stable: CompareCall): void => {
    const m = app.model;
    const label = o.metrics.stableLabel(stable.ok ? stable.answer.revision : undefined);
    const rows = ran.rows ?? 1;
    // A pod that is itself the stable revision (after a promotion) has nothing to compare with.
    if (stable.ok && stable.answer.revision === o.revision) return;
    const outcome = shadowOutcome(ran.status, stable);
    if (outcome !== 'agree' || !m || !ran.outputs || !stable.ok) {
      o.metrics.count(label, outcome, rows);
      if (!stable.ok) o.log.debug({ reason: stable.reason }, 'shadow: the stable revision did not answer the compare request');
      return;
    }
    const decoded = decodeInferResponse(stable.answer.body, stable.answer.jsonLength);
    if (!decoded.ok) {
      o.metrics.count(label, 'stable_error', rows);
      return;
    }
    const result = compareOutputs(m.health.plan, ran.outputs, decoded.outputs, rows);
    if (result.ok) o.metrics.compared(label, result.comparison);
    else o.metrics.count(label, result.reason.startsWith('stable') ? 'stable_error' : 'canary_error', rows);
  };

  const server = createServer({ headersTimeout: o.headersTimeoutMs, requestTimeout: o.headersTimeoutMs + o.bodyTimeoutMs + 5_000, maxHeaderSize: o.maxHeaderBytes }, (req, res) => {
    const start = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const role = req.headers[HEADER_SHADOW] === SHADOW_COMPARE ? 'compare' : 'mirror';
    const reply = (r: { status: number; body: Buffer | string; headers: Record<string, string | number> }) => {
      o.metrics.request(role, r.status);
      const headers: Record<string, string | number> = { ...r.headers, [HEADER_REVISION]: o.revision, 'content-length': Buffer.byteLength(r.body) };
      if (!req.complete) {
        headers['connection'] = 'close';
        const socket = res.socket;
        if (socket) socket.destroySoon = () => lingerClose(socket, 2000);
      }
      res.writeHead(r.status, headers);
      res.end(r.body);
    };
    const error = (status: number, message: string) => reply({ status, body: JSON.stringify({ error: message }), headers: { 'content-type': 'application/json' } });
    if (req.method !== 'POST' || !inferPaths.has(path)) return error(404, `the shadow port serves only POST ${base}/infer`);
    if (inFlight >= o.maxInFlight) {
      if (role === 'mirror') o.metrics.count(o.metrics.stableLabel(undefined), 'skipped', 1);
      return error(429, `${o.maxInFlight} shadow requests are in progress; this copy is dropped`);
    }
    inFlight++;
    const reservation = new Reservation(o.budget);
    res.once('close', () => {
      reservation.release();
      inFlight--;
    });
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(req, { maxBytes: o.maxBodyBytes, reservation, deadline: start + Math.min(o.bodyTimeoutMs, o.requestTimeoutMs), deadlineName: `--body-timeout-ms=${o.bodyTimeoutMs}` });
      } catch (err) {
        return error(err instanceof RuntimeError ? err.status : 400, errorMessage(err));
      }
      const h = req.headers['inference-header-content-length'];
      const jsonLength = typeof h === 'string' && /^[0-9]{1,15}$/.test(h) ? Number(h) : undefined;
      if (role === 'compare' || !o.compare) return reply(await run(body, jsonLength, start));
      const headers: Record<string, string> = { 'content-type': String(req.headers['content-type'] ?? 'application/json') };
      if (jsonLength !== undefined) headers['inference-header-content-length'] = String(jsonLength);
      const remaining = Math.max(1, o.requestTimeoutMs - (performance.now() - start));
      const [ran, stable] = await Promise.all([run(body, jsonLength, start), askStable(o.compare, path, body, headers, remaining, o.maxBodyBytes * 4)]);
      reply(ran);
      try {
        compare(ran, stable);
      } catch (err) {
        o.log.warn({ err: errorMessage(err) }, 'shadow: comparing the answers failed');
      }
    })();
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
