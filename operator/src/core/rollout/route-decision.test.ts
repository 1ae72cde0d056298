import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../types.ts';
import { ANNOTATION_ROUTE_DECISION, formatRouteDecision, parseRouteDecision, pendingRouteDecision } from './route-decision.ts';

const route = (value?: string): KubeObject => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'm', ...(value ? { annotations: { [ANNOTATION_ROUTE_DECISION]: value } } : {}) } });

describe('route decisions', () => {
  it('round-trips both outcomes', () => {
    const rolled = { outcome: 'rolled-back', revision: 'abc123', reason: 'AnalysisFailed', atSeconds: 1_790_000_000 } as const;
    const promoted = { outcome: 'promoted', revision: 'abc123', atSeconds: 1_790_000_000 } as const;
    expect(parseRouteDecision(formatRouteDecision(rolled))).toEqual(rolled);
    expect(parseRouteDecision(formatRouteDecision(promoted))).toEqual(promoted);
  });

  it.each([undefined, '', 'rolled-back', 'rolled-back/abc/AnalysisFailed', 'rolled-back/abc/AnalysisFailed/soon', 'promoted/abc', 'promoted//1', 'paused/abc/1', 'promoted/abc/1/2'])('ignores %j', (value) => {
    expect(parseRouteDecision(value)).toBeUndefined();
  });

  it("is pending only for the canary it names, taken while it was the canary", () => {
    const since = '2026-11-29T10:00:00.000Z';
    const at = Math.floor(Date.parse(since) / 1000);
    expect(pendingRouteDecision(route(`rolled-back/abc/ManualAbort/${at + 30}`), { revision: 'abc', since })).toMatchObject({ outcome: 'rolled-back', reason: 'ManualAbort' });
    expect(pendingRouteDecision(route(`rolled-back/abc/ManualAbort/${at + 30}`), { revision: 'def', since })).toBeUndefined();
    // Taken before this canary began (a retried revision): not its own.
    expect(pendingRouteDecision(route(`rolled-back/abc/ManualAbort/${at - 1}`), { revision: 'abc', since })).toBeUndefined();
    expect(pendingRouteDecision(route(), { revision: 'abc', since })).toBeUndefined();
    expect(pendingRouteDecision(undefined, { revision: 'abc', since })).toBeUndefined();
  });
});
