// The Prometheus adapter of the rollout analysis (docs/operator.md, "Prometheus").
export { createPrometheusClient, queryMetricsObserver, answerFor, MAX_RESPONSE_BYTES } from './client.ts';
export type { PrometheusClient, PrometheusClientDeps, PrometheusClientOptions, QueryEvent, QueryOutcome } from './client.ts';
export { parseQueryResponse, parseSampleValue, QUERY_RESULTS } from './response.ts';
export type { QueryResult, QueryValue } from './response.ts';
