// Prometheus for the lab: discovers pods through the lab API server and scrapes those that ask for
// it with the usual prometheus.io/* annotations, plus lab processes on loopback. The binary is built
// from the Go module proxy (e2e/lab/prometheus-build): Debian's package lacks Kubernetes discovery.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { labNetwork, labPaths, labPorts } from './lab-config.ts';
import type { LabPki } from './pki.ts';
import type { DaemonSpec } from './processes.ts';

export const prometheusUrl = `http://127.0.0.1:${labPorts.prometheus}`;
export const prometheusConfigFile = path.join(labPaths.dir, 'prometheus.yml');
/** Extra static loopback targets (e.g. the operator's own /metrics) live in this file-SD file. */
export const prometheusStaticTargetsFile = path.join(labPaths.dir, 'prometheus-targets.json');

/** Only addresses inside the lab's pod network may be scraped: nothing outside is ever a target. */
const podNetworkRegex = `${labNetwork.podNetwork.split('.').slice(0, 2).join('\\.')}\\..+`;

export function prometheusConfig(apiserverUrl: string, pki: LabPki, scrapeIntervalSeconds = 2): object {
  const tls = { ca_file: pki.caCert, cert_file: pki.adminCert, key_file: pki.adminKey };
  return {
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, evaluation_interval: `${scrapeIntervalSeconds}s` },
    scrape_configs: [
      {
        job_name: 'kubernetes-pods',
        kubernetes_sd_configs: [{ role: 'pod', api_server: apiserverUrl, tls_config: tls }],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
          { source_labels: ['__meta_kubernetes_pod_phase'], action: 'keep', regex: 'Running' },
          { source_labels: ['__meta_kubernetes_pod_ip'], action: 'keep', regex: podNetworkRegex },
          // One target per pod: the annotated port, else the first declared container port.
          {
            source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
            action: 'replace',
            regex: '(.+);(\\d+)',
            replacement: '$1:$2',
            target_label: '__address__',
          },
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', regex: '(.+)', target_label: '__metrics_path__' },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
          { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
          { source_labels: ['__meta_kubernetes_pod_label_app'], target_label: 'app' },
          { source_labels: ['__meta_kubernetes_pod_label_serving_onnxop_io_model'], target_label: 'onnx_model' },
          { source_labels: ['__meta_kubernetes_pod_label_serving_onnxop_io_revision'], target_label: 'onnx_revision' },
        ],
      },
      {
        job_name: 'lab-loopback',
        file_sd_configs: [{ files: [prometheusStaticTargetsFile], refresh_interval: '5s' }],
        relabel_configs: [{ source_labels: ['__address__'], action: 'keep', regex: '127\\.0\\.0\\.1:\\d+' }],
      },
    ],
  };
}

export function prometheusSpec(binary: string, apiserverUrl: string, pki: LabPki): DaemonSpec {
  fs.mkdirSync(labPaths.prometheusData, { recursive: true });
  fs.writeFileSync(prometheusConfigFile, stringify(prometheusConfig(apiserverUrl, pki)));
  if (!fs.existsSync(prometheusStaticTargetsFile)) fs.writeFileSync(prometheusStaticTargetsFile, '[]\n');
  return {
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${prometheusConfigFile}`,
      `--storage.tsdb.path=${labPaths.prometheusData}`,
      `--web.listen-address=127.0.0.1:${labPorts.prometheus}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
  };
}
