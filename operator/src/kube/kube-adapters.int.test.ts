// The operator's Kubernetes adapters against the lab's real API server: leader election on a Lease
// and the hardened informer's recovery.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { labPaths } from '../../../e2e/lab/lab-config.ts';
import { createTestNamespace, deleteNamespace, kubectl, kubectlJson, waitUntil } from '../../../test/lab-helpers.ts';
import { Informer, type ChangeType } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { resources } from './resources.ts';
import { RestKubeClient } from './rest-client.ts';

const log = pino({ level: 'silent' });
let ns = '';
let client: RestKubeClient;

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(labPaths.operatorKubeconfig);
  client = new RestKubeClient(kc, { userAgent: 'onnx-operator-test' });
  ns = await createTestNamespace('adapters');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('LeaderElector', () => {
  test('one of two candidates leads; after it releases, the other takes over', async () => {
    const a = new LeaderElector({ client, namespace: ns, name: 'le', identity: 'a', log, retryPeriodMs: 200 });
    const b = new LeaderElector({ client, namespace: ns, name: 'le', identity: 'b', log, retryPeriodMs: 200 });
    await a.run(() => undefined);
    expect(a.leading).toBe(true);
    let bLeads = false;
    const bRun = b.run(() => undefined).then(() => (bLeads = true));
    // While b tries every 200 ms, a renews: wait for two of a's renewals (seen in the Lease), not a set time.
    const renewals = new Set<string>();
    await waitUntil('a to renew the lease twice while b waits', async () => {
      const l = await kubectlJson<{ spec: { holderIdentity: string; renewTime: string } }>(['-n', ns, 'get', 'lease', 'le']);
      if (l.spec.holderIdentity === 'a') renewals.add(l.spec.renewTime);
      return renewals.size >= 3 ? true : undefined;
    }, 60_000, 100);
    expect(bLeads).toBe(false); // a renews; b keeps waiting
    const lease = JSON.parse(await kubectl(['-n', ns, 'get', 'lease', 'le', '-o', 'json'])) as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('a');
    await a.release();
    await bRun;
    expect(b.leading).toBe(true);
    const after = JSON.parse(await kubectl(['-n', ns, 'get', 'lease', 'le', '-o', 'json'])) as { spec: { holderIdentity: string; leaseTransitions: number } };
    expect(after.spec.holderIdentity).toBe('b');
    expect(after.spec.leaseTransitions).toBe(1);
    await b.release();
  });
});

describe('Informer', () => {
  test('syncs, follows changes, and recovers when its watchdog restarts a quiet stream', async () => {
    const seen: [ChangeType, string][] = [];
    const restarts: string[] = [];
    const inf = new Informer({
      client,
      resource: resources.service,
      log,
      labelSelector: 'informer-test',
      watchdogMs: 1500,
      onRestart: (reason) => restarts.push(reason),
    });
    inf.onChange((type, obj) => {
      if (obj.metadata.namespace === ns) seen.push([type, obj.metadata.name]);
    });
    await kubectl(['-n', ns, 'create', 'service', 'clusterip', 'before', '--tcp=80:80']);
    await kubectl(['-n', ns, 'label', 'service', 'before', 'informer-test=1']);
    await inf.start();
    expect(inf.get(ns, 'before')?.kind).toBe('Service'); // list items get their kind back
    await waitUntil('a watchdog restart', async () => (restarts.includes('watchdog') ? true : undefined), 60_000, 100);
    await kubectl(['-n', ns, 'create', 'service', 'clusterip', 'after', '--tcp=80:80']);
    await kubectl(['-n', ns, 'label', 'service', 'after', 'informer-test=1']);
    await waitUntil('the informer to see the new service', async () => (inf.get(ns, 'after') ? true : undefined), 60_000, 100);
    await kubectl(['-n', ns, 'delete', 'service', 'before']);
    await waitUntil('the informer to see the deletion', async () => (inf.get(ns, 'before') ? undefined : true), 60_000, 100);
    expect(seen).toEqual(expect.arrayContaining([['ADDED', 'before'], ['ADDED', 'after'], ['DELETED', 'before']]));
    await inf.stop();
  });
});
