// Hot-path metrics: counters, gauges and histograms whose per-request update is a field increment
// on a label-bound child created once (no label hashing, no object allocation per update). They
// register in the prom-client Registry like its own metrics and render the same Prometheus text
// (counts, cumulative buckets, +Inf, _sum, _count) when /metrics is scraped: the values are exact,
// only the formatting is deferred to the scrape.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface ValuePair {
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  value: number;
  metricName?: string;
}

abstract class FastMetric<C> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly children = new Map<string, C>();
  protected readonly labelNames: readonly string[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // The registry only calls get() (and reset()) on what it holds; see the class comment above.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(labels: Labels): C;

  /** The child for one label set; hold on to it: updates through it cost a field increment. */
  labels(labels: Labels = {}): C {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let c = this.children.get(key);
    if (!c) {
      for (const k of Object.keys(labels)) if (!this.labelNames.includes(k)) throw new Error(`${this.name}: unknown label ${k}`);
      c = this.create(Object.fromEntries(this.labelNames.map((n) => [n, labels[n] ?? ''])));
      this.children.set(key, c);
    }
    return c;
  }

  protected abstract values(): ValuePair[];

  async get(): Promise<{ name: string; help: string; type: string; values: ValuePair[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  abstract reset(): void;
}

export class CounterChild {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  inc(n = 1): void {
    this.value += n;
  }
}

export class FastCounter extends FastMetric<CounterChild> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }
  protected values(): ValuePair[] {
    return [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value }));
  }
  reset(): void {
    for (const c of this.children.values()) c.value = 0;
  }
}

export class GaugeChild {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export class FastGauge extends FastMetric<GaugeChild> {
  readonly type = 'gauge';
  protected create(labels: Labels): GaugeChild {
    return new GaugeChild(labels);
  }
  protected values(): ValuePair[] {
    return [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value }));
  }
  reset(): void {
    for (const c of this.children.values()) c.value = 0;
  }
}

export class HistogramChild {
  /** Per bucket (not cumulative); the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly labels: Labels;
  private readonly bounds: Float64Array;
  constructor(labels: Labels, bounds: Float64Array) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  /** Like prom-client's: a value lands in the first bucket whose upper bound is ≥ it. NaN is ignored. */
  observe(v: number): void {
    if (v !== v) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
    this.count++;
  }
}

export class FastHistogram extends FastMetric<HistogramChild> {
  readonly type = 'histogram';
  readonly buckets: Float64Array;
  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(registry, name, help, labelNames);
    this.buckets = Float64Array.from([...buckets].sort((a, b) => a - b));
    // Unlabelled histograms show their zero series from the start, as prom-client's do.
    if (labelNames.length === 0) this.labels();
  }
  protected create(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.buckets);
  }
  protected values(): ValuePair[] {
    const out: ValuePair[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.children.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += c.counts[i] as number;
        out.push({ labels: { le }, sharedLabels: c.labels, value: acc, metricName: bucket });
      });
      out.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: bucket });
      out.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      out.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return out;
  }
  reset(): void {
    for (const c of this.children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}
