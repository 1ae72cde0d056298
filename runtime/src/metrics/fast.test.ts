import { describe, expect, test } from '@jest/globals';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FastCounter, FastGauge, FastHistogram } from './fast.ts';
import { LATENCY_BUCKETS, PREDICTION_BUCKETS } from './metrics.ts';
import { seededRandom } from '../../../lib/test-support/seeded-random.ts';

describe('fast metrics render exactly what prom-client renders for the same updates', () => {
  test('counters, gauges and histograms (labelled and not), with default labels, on a fixed seed', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    for (const r of [ours, theirs]) r.setDefaultLabels({ model: 'm', revision: 'r' });
    const fc = new FastCounter(ours, 'x_requests_total', 'help c', ['outcome']);
    const pc = new Counter({ name: 'x_requests_total', help: 'help c', labelNames: ['outcome'], registers: [theirs] });
    const fg = new FastGauge(ours, 'x_depth', 'help g', []).labels();
    const pg = new Gauge({ name: 'x_depth', help: 'help g', registers: [theirs] });
    const fh = new FastHistogram(ours, 'x_latency_seconds', 'help h', ['outcome'], LATENCY_BUCKETS);
    const ph = new Histogram({ name: 'x_latency_seconds', help: 'help h', labelNames: ['outcome'], buckets: [...LATENCY_BUCKETS], registers: [theirs] });
    const fu = new FastHistogram(ours, 'x_value', 'help u', [], PREDICTION_BUCKETS).labels();
    const pu = new Histogram({ name: 'x_value', help: 'help u', buckets: PREDICTION_BUCKETS, registers: [theirs] });
    const outcomes = ['success', 'client_error', 'timeout'];
    // Same creation order of series on both sides.
    for (const o of outcomes) {
      fc.labels({ outcome: o });
      pc.inc({ outcome: o }, 0);
      ph.zero({ outcome: o });
    }
    const children = Object.fromEntries(outcomes.map((o) => [o, fh.labels({ outcome: o })]));
    const random = seededRandom(42);
    for (let i = 0; i < 5000; i++) {
      const o = outcomes[Math.floor(random() * 2.2)] as string;
      const seconds = random() < 0.01 ? 50 : random() ** 3 * 2; // some values above the last bound
      fc.labels({ outcome: o }).inc();
      pc.inc({ outcome: o });
      (children[o] as ReturnType<typeof fh.labels>).observe(seconds);
      ph.observe({ outcome: o }, seconds);
      const v = (random() - 0.3) * 30;
      fu.observe(v);
      pu.observe(v);
      // Exact bucket boundaries land in the bucket they bound, as in prom-client.
      if (i % 100 === 0) {
        fu.observe(0.5);
        pu.observe(0.5);
      }
      fg.set(i % 7);
      pg.set(i % 7);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const json = await fc.get();
    expect(json.values.map((v) => v.labels.outcome)).toEqual(outcomes);
  });
});
