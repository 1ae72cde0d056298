// The canary's request to the stable revision for the same input: one POST to the compare URL
// (the model's stable Service, shadow port), through the standard HTTP_PROXY when one is set and
// the host is not in NO_PROXY. Bounded: a deadline and a response size limit; never throws.
import http from 'node:http';
import { HEADER_REVISION, HEADER_SHADOW, SHADOW_COMPARE } from '../../../lib/contract/index.ts';

export interface StableAnswer {
  status: number;
  revision: string | undefined;
  jsonLength: number | undefined;
  body: Buffer;
}

export type CompareCall = { ok: true; answer: StableAnswer } | { ok: false; reason: string };

export interface CompareTarget {
  url: URL;
  /** From HTTP_PROXY / http_proxy, unless NO_PROXY names the host. */
  proxy: URL | undefined;
}

/** The compare target and its proxy, from the URL and the process environment (pure). */
export function compareTarget(url: string, env: Record<string, string | undefined>): CompareTarget {
  const target = new URL(url);
  const proxyText = env['HTTP_PROXY'] ?? env['http_proxy'];
  const noProxy = (env['NO_PROXY'] ?? env['no_proxy'] ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^\*?\./, ''))
    .filter(Boolean);
  const bypass = noProxy.some((h) => h === '*' || target.hostname === h || target.hostname.endsWith(`.${h}`));
  return { url: target, proxy: proxyText && !bypass ? new URL(proxyText) : undefined };
}

export function askStable(target: CompareTarget, path: string, body: Buffer, headers: Record<string, string>, timeoutMs: number, maxBytes: number): Promise<CompareCall> {
  return new Promise((resolve) => {
    const via = target.proxy ?? target.url;
    const absolute = new URL(path, target.url);
    const req = http.request({
      host: via.hostname,
      port: via.port || 80,
      method: 'POST',
      // Through a proxy the request line carries the absolute URL.
      path: target.proxy ? absolute.href : absolute.pathname,
      headers: { ...headers, host: absolute.host, [HEADER_SHADOW]: SHADOW_COMPARE, 'content-length': String(body.length) },
      timeout: timeoutMs,
    });
    let settled = false;
    const done = (r: CompareCall) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const deadline = setTimeout(() => {
      req.destroy();
      done({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (err) => done({ ok: false, reason: err.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          done({ ok: false, reason: `the answer is larger than ${maxBytes} bytes` });
        } else chunks.push(c);
      });
      res.on('error', (err) => done({ ok: false, reason: err.message }));
      res.on('end', () => {
        const h = res.headers['inference-header-content-length'];
        const jl = typeof h === 'string' && /^[0-9]{1,15}$/.test(h) ? Number(h) : undefined;
        const rev = res.headers[HEADER_REVISION];
        done({ ok: true, answer: { status: res.statusCode ?? 0, revision: typeof rev === 'string' ? rev : undefined, jsonLength: jl, body: Buffer.concat(chunks) } });
      });
    });
    req.end(body);
  });
}
