// Operational overview: the guide's level 1 — latency p50/p95/p99, throughput, error rate, queue
// depth, CPU and memory of the selected model's pods.
import { AVAILABILITY_BAD_OUTCOMES, AVAILABILITY_EXCLUDED_OUTCOMES } from '../../../lib/contract/index.ts';
import { RUNTIME } from '../names.ts';
import { dashboard, RATE, row, SEL, stat, table, timeseries } from './common.ts';

const bad = `outcome=~"${AVAILABILITY_BAD_OUTCOMES.join('|')}"`;
const eligible = `outcome!~"${AVAILABILITY_EXCLUDED_OUTCOMES.join('|')}"`;
const quantile = (q: number, metric: string, extra = '', by = '') => `histogram_quantile(${q}, sum by (le${by}) (rate(${metric}_bucket{${SEL}${extra}}[${RATE}])))`;

export function operationalOverview() {
  return dashboard('onnxop-operational-overview', 'ONNX models / Operational overview', 'Latency, throughput, errors, queueing and resources of one served model (runtime metrics, docs/metrics.md).')
    .withRow(row('Now'))
    .withPanel(stat('Requests/s', [{ expr: `sum(rate(${RUNTIME.requests}{${SEL}}[${RATE}]))` }], { unit: 'reqps', description: 'Inference requests per second, every outcome.' }))
    .withPanel(
      stat('Error ratio', [{ expr: `sum(rate(${RUNTIME.requests}{${SEL}, ${bad}}[${RATE}])) / sum(rate(${RUNTIME.requests}{${SEL}, ${eligible}}[${RATE}]))` }], {
        unit: 'percentunit',
        description: 'Failed requests (server errors, timeouts, rejections) over requests that are not client errors: the availability SLI. The guide: critical above 1%.',
        thresholds: [{ value: 0.001, color: 'yellow' }, { value: 0.01, color: 'red' }],
      }),
    )
    .withPanel(
      stat('p99 latency', [{ expr: quantile(0.99, RUNTIME.requestDuration, ', outcome="success"') }], {
        unit: 's',
        description: '99th percentile of successful requests. The guide: warning above 500 ms, critical above 2 s.',
        thresholds: [{ value: 0.5, color: 'yellow' }, { value: 2, color: 'red' }],
      }),
    )
    .withPanel(stat('Ready pods', [{ expr: `sum(${RUNTIME.modelReady}{${SEL}})` }], { description: 'Pods with the model loaded, warmed up and serving.', thresholds: [{ value: 1, color: 'green' }] }))
    .withRow(row('Latency and throughput'))
    .withPanel(
      timeseries(
        'Latency p50 / p95 / p99',
        [0.5, 0.95, 0.99].map((q) => ({ expr: quantile(q, RUNTIME.requestDuration, ', outcome="success"'), legend: `p${q * 100}` })),
        { unit: 's', description: 'Quantiles of successful requests, arrival to response.', thresholds: [{ value: 0.5, color: 'yellow' }, { value: 2, color: 'red' }] },
      ),
    )
    .withPanel(timeseries('Throughput by outcome', [{ expr: `sum by (outcome) (rate(${RUNTIME.requests}{${SEL}}[${RATE}]))`, legend: '{{outcome}}' }], { unit: 'reqps', description: 'Requests per second by outcome (success, client_error, server_error, timeout, rejected).' }))
    .withPanel(
      timeseries('Error ratio by revision', [{ expr: `sum by (revision) (rate(${RUNTIME.requests}{${SEL}, ${bad}}[${RATE}])) / sum by (revision) (rate(${RUNTIME.requests}{${SEL}, ${eligible}}[${RATE}]))`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'The availability SLI per revision.',
        thresholds: [{ value: 0.01, color: 'red' }],
      }),
    )
    .withPanel(timeseries('Runs by result', [{ expr: `sum by (result) (rate(${RUNTIME.runs}{${SEL}}[${RATE}]))`, legend: '{{result}}' }], { unit: 'ops', description: 'onnxruntime runs per second (a run may carry a batch of requests).' }))
    .withRow(row('Queueing and batching'))
    .withPanel(
      timeseries(
        'Queue depth and in flight',
        [
          { expr: `sum by (pod) (${RUNTIME.queueDepth}{${SEL}})`, legend: 'queued {{pod}}' },
          { expr: `sum by (pod) (${RUNTIME.inFlight}{${SEL}})`, legend: 'in flight {{pod}}' },
        ],
        { description: 'Requests waiting for a run, and accepted but not yet answered, per pod.' },
      ),
    )
    .withPanel(
      timeseries(
        'Queue wait and compute time (p99)',
        [
          { expr: quantile(0.99, RUNTIME.queueDuration), legend: 'queue wait' },
          { expr: quantile(0.99, RUNTIME.computeDuration), legend: 'compute' },
        ],
        { unit: 's', description: 'Queue wait growing means saturation; compute growing means slower runs.' },
      ),
    )
    .withPanel(timeseries('Batch size (mean)', [{ expr: `sum(rate(${RUNTIME.batchSize}_sum{${SEL}}[${RATE}])) / sum(rate(${RUNTIME.batchSize}_count{${SEL}}[${RATE}]))`, legend: 'rows per run' }], { description: 'Rows per onnxruntime run (1 without dynamic batching).' }))
    .withRow(row('Resources'))
    .withPanel(timeseries('CPU per pod', [{ expr: `sum by (pod) (rate(${RUNTIME.cpuSeconds}{${SEL}}[${RATE}]))`, legend: '{{pod}}' }], { unit: 'percentunit', description: 'CPU seconds per second of each runtime process (1 = one core).' }))
    .withPanel(timeseries('Memory per pod (RSS)', [{ expr: `sum by (pod) (${RUNTIME.residentMemory}{${SEL}})`, legend: '{{pod}}' }], { unit: 'bytes', description: 'Resident memory of each runtime process.' }))
    .withPanel(timeseries('Event-loop lag p99', [{ expr: `max by (pod) (${RUNTIME.eventLoopLag}{${SEL}})`, legend: '{{pod}}' }], { unit: 's', description: 'A lagging event loop delays health checks and metrics as well as requests.' }))
    .withPanel(
      table('Loaded models', [{ expr: `max by (pod, revision, digest, execution_provider, requested_execution_provider, ort_version, opset) (${RUNTIME.modelInfo}{${SEL}})` }], {
        description: 'What each pod serves; execution_provider differing from requested_execution_provider means the CPU fallback applied.',
        span: 24,
      }),
    );
}
