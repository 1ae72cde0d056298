// Pure: one class's timeline as an SVG picture (docs/comparison.md) — the new version's traffic
// weight as each tool set it (top) and the share of client requests that were bad (bottom), one
// line per tool, on seconds since the new version was applied. No I/O.
import type { Bucket, WeightPoint } from './scenarios.ts';

export interface TimelineSeries {
  label: string;
  color: string;
  weights: readonly WeightPoint[];
  buckets: readonly Bucket[];
  /** Seconds after the apply at which the run ended (the weight line stops there). */
  end: number;
  /** Seconds after the apply at which Prometheus was stopped. */
  outageAt?: number;
  /** After the label in the legend, e.g. the outcome. */
  note?: string;
}

export interface TimelineInput {
  title: string;
  subtitle?: string;
  /** What a bad event is, under the lower panel. */
  badLabel: string;
  /** Seconds of load before the apply (the x axis starts at -leadSeconds). */
  leadSeconds: number;
  /** Width of the request buckets; a bucket the run's end cuts short is left out. */
  bucketSeconds: number;
  series: readonly TimelineSeries[];
}

const W = 960;
const LEFT = 64;
const RIGHT = 24;
const TOP = 56;
const PANEL_W = W - LEFT - RIGHT;
const WEIGHT_H = 170;
const GAP = 56;
const BAD_H = 130;
const LEGEND_LINE = 18;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** A round step for about `target` ticks over `range`. */
export function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** The bad-ratio axis' top, percent: a round value above the largest bucket ratio, at least 5%. */
export function badAxisMax(series: readonly TimelineSeries[]): number {
  let max = 0;
  for (const s of series) for (const [, n, bad] of s.buckets) if (n > 0) max = Math.max(max, (bad / n) * 100);
  if (max <= 5) return 5;
  const step = niceStep(max, 4);
  return Math.min(100, Math.ceil(max / step) * step);
}

export function timelineSvg(o: TimelineInput): string {
  const xMaxRaw = Math.max(60, ...o.series.map((s) => s.end));
  const xStep = xMaxRaw > 480 ? 120 : xMaxRaw > 240 ? 60 : 30;
  const xMax = Math.ceil(xMaxRaw / xStep) * xStep;
  const xMin = -o.leadSeconds;
  const x = (t: number) => LEFT + ((Math.min(Math.max(t, xMin), xMax) - xMin) / (xMax - xMin)) * PANEL_W;
  const legendH = o.series.length * LEGEND_LINE + 8;
  const weightTop = TOP + legendH + 22;
  const badTop = weightTop + WEIGHT_H + GAP;
  const height = badTop + BAD_H + 52;
  const yW = (w: number) => weightTop + WEIGHT_H - (w / 100) * WEIGHT_H;
  const badMax = badAxisMax(o.series);
  const yB = (p: number) => badTop + BAD_H - (Math.min(p, badMax) / badMax) * BAD_H;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="16" font-weight="bold">${esc(o.title)}</text>`,
  );
  if (o.subtitle) out.push(`<text x="${LEFT}" y="40" fill="#555555">${esc(o.subtitle)}</text>`);
  o.series.forEach((s, i) => {
    const y = TOP + i * LEGEND_LINE + 6;
    out.push(
      `<line x1="${LEFT}" y1="${y}" x2="${LEFT + 24}" y2="${y}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${LEFT + 32}" y="${y + 4}">${esc(s.label)}${s.note ? ` — ${esc(s.note)}` : ''}</text>`,
    );
  });

  // Axes and grids.
  const panel = (
    top: number,
    h: number,
    ticks: number[],
    fmt: (v: number) => string,
    y: (v: number) => number,
    label: string,
  ) => {
    out.push(`<rect x="${LEFT}" y="${top}" width="${PANEL_W}" height="${h}" fill="none" stroke="#999999"/>`);
    for (const v of ticks) {
      out.push(
        `<line x1="${LEFT}" y1="${n1(y(v))}" x2="${LEFT + PANEL_W}" y2="${n1(y(v))}" stroke="#eeeeee"/>`,
        `<text x="${LEFT - 6}" y="${n1(y(v) + 4)}" text-anchor="end" fill="#555555">${fmt(v)}</text>`,
      );
    }
    for (let t = Math.ceil(xMin / xStep) * xStep; t <= xMax; t += xStep)
      out.push(`<line x1="${n1(x(t))}" y1="${top}" x2="${n1(x(t))}" y2="${top + h}" stroke="#eeeeee"/>`);
    out.push(
      `<line x1="${n1(x(0))}" y1="${top}" x2="${n1(x(0))}" y2="${top + h}" stroke="#888888" stroke-dasharray="2,3"/>`,
      `<text x="${LEFT}" y="${top - 8}" fill="#333333">${esc(label)}</text>`,
    );
  };
  panel(
    weightTop,
    WEIGHT_H,
    [0, 25, 50, 75, 100],
    (v) => `${v}%`,
    yW,
    "new version's traffic weight, as each tool set it",
  );
  const badStep = niceStep(badMax, 4);
  const badTicks: number[] = [];
  for (let v = 0; v <= badMax + 1e-9; v += badStep) badTicks.push(Math.round(v * 1000) / 1000);
  panel(
    badTop,
    BAD_H,
    badTicks,
    (v) => `${v}%`,
    yB,
    `bad client requests (${o.badLabel}), per ${o.bucketSeconds} s`,
  );
  for (let t = Math.ceil(xMin / xStep) * xStep; t <= xMax; t += xStep)
    out.push(
      `<text x="${n1(x(t))}" y="${badTop + BAD_H + 16}" text-anchor="middle" fill="#555555">${t}</text>`,
    );
  out.push(
    `<text x="${LEFT + PANEL_W / 2}" y="${badTop + BAD_H + 36}" text-anchor="middle" fill="#333333">seconds since the new version was applied</text>`,
  );

  // Series: weights as steps to the run's end, bad ratio per bucket, outage marks.
  o.series.forEach((s, i) => {
    const offset = (i - (o.series.length - 1) / 2) * 1.2; // overlapping lines stay visible
    const pts: string[] = [];
    let last = 0;
    pts.push(`${n1(x(xMin))},${n1(yW(0) + offset)}`);
    for (const [t, w] of s.weights) {
      if (t > s.end) break;
      pts.push(`${n1(x(t))},${n1(yW(last) + offset)}`, `${n1(x(t))},${n1(yW(w) + offset)}`);
      last = w;
    }
    pts.push(`${n1(x(s.end))},${n1(yW(last) + offset)}`);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    out.push(`<circle cx="${n1(x(s.end))}" cy="${n1(yW(last) + offset)}" r="3" fill="${s.color}"/>`);
    const bad = s.buckets
      .filter(([t, n]) => n > 0 && t + o.bucketSeconds <= s.end + 0.5)
      .map(([t, n, b]) => `${n1(x(t + o.bucketSeconds / 2))},${n1(yB((b / n) * 100) + offset)}`);
    if (bad.length > 0)
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${bad.join(' ')}"/>`);
    if (s.outageAt !== undefined)
      for (const [top, h] of [
        [weightTop, WEIGHT_H],
        [badTop, BAD_H],
      ] as const)
        out.push(
          `<line x1="${n1(x(s.outageAt))}" y1="${top}" x2="${n1(x(s.outageAt))}" y2="${top + h}" stroke="${s.color}" stroke-dasharray="6,4"/>`,
        );
  });
  if (o.series.some((s) => s.outageAt !== undefined))
    out.push(
      `<text x="${LEFT + PANEL_W}" y="${weightTop - 8}" text-anchor="end" fill="#555555">dashed: Prometheus stopped</text>`,
    );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
