import { badAxisMax, niceStep, timelineSvg, type TimelineSeries } from './timeline-svg.ts';

const series = (over: Partial<TimelineSeries>): TimelineSeries => ({
  label: 'tool',
  color: '#123456',
  weights: [],
  buckets: [],
  end: 100,
  ...over,
});

describe('timelineSvg', () => {
  const svg = timelineSvg({
    title: 'errors 2% <&>',
    badLabel: '5xx',
    leadSeconds: 5,
    bucketSeconds: 5,
    series: [
      series({
        label: 'A',
        color: '#ff0000',
        weights: [
          [10, 20],
          [40, 0],
        ],
        buckets: [
          [-5, 100, 0, 0],
          [10, 100, 2, 20],
          // Cut short by the run's end at 41 s: left out.
          [40, 20, 20, 0],
        ],
        end: 41,
        note: 'rolled back',
      }),
      series({ label: 'B', color: '#00ff00', weights: [[15, 20]], end: 300, outageAt: 45 }),
    ],
  });

  it('is one SVG document with escaped text, a legend entry and lines per tool', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('errors 2% &lt;&amp;&gt;');
    expect(svg).toContain('A — rolled back');
    // A: a weight line and a bad-ratio line; B: a weight line only (no requests), and its outage marks.
    expect(svg.match(/<polyline[^>]*stroke="#ff0000"/g)).toHaveLength(2);
    expect(svg.match(/<polyline[^>]*stroke="#00ff00"/g)).toHaveLength(1);
    expect(svg.match(/stroke="#00ff00" stroke-dasharray="6,4"/g)).toHaveLength(2);
    expect(svg).toContain('dashed: Prometheus stopped');
    const badLineA = [...svg.matchAll(/<polyline[^>]*stroke="#ff0000" stroke-width="1.5" points="([^"]*)"/g)];
    expect(badLineA[0]?.[1]?.split(' ')).toHaveLength(2);
    // Every number in the points is finite.
    for (const m of svg.matchAll(/points="([^"]*)"/g))
      for (const n of (m[1] ?? '').split(/[ ,]/)) expect(Number.isFinite(Number(n))).toBe(true);
  });

  it('runs its time axis to the longest run, in round steps', () => {
    expect(svg).toContain('>300</text>');
    expect(svg).not.toContain('>360</text>');
  });
});

describe('axes', () => {
  it('rounds steps to 1, 2 or 5 of a power of ten', () => {
    expect(niceStep(100, 4)).toBe(50);
    expect(niceStep(12, 4)).toBe(5);
    expect(niceStep(0.9, 4)).toBe(0.5);
  });

  it('keeps at least 5% on the bad-ratio axis and rounds above the largest bucket', () => {
    expect(badAxisMax([series({ buckets: [[0, 100, 1, 0]] })])).toBe(5);
    expect(badAxisMax([series({ buckets: [[0, 100, 22, 0]] })])).toBe(30);
    expect(badAxisMax([series({ buckets: [[0, 10, 10, 0]] })])).toBe(100);
  });
});
