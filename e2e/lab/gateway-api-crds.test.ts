// Reads the pinned CRDs (from the .lab cache, or once through the Go module proxy) and checks the
// lab's own Gateway API objects against their real schema limits.
import {
  gatewayApiVersion,
  labGateway,
  labGatewayObjects,
  loadGatewayApiCrds,
  type CrdDocument,
} from './gateway-api-crds.ts';

let crds: CrdDocument[];
beforeAll(async () => {
  crds = await loadGatewayApiCrds();
}, 300_000);

type Schema = { properties?: Record<string, Schema>; maxLength?: number; items?: Schema; pattern?: string };
function schemaOf(kind: string): Schema {
  const crd = crds.find((c) => (c.object.spec as { names: { kind: string } }).names.kind === kind);
  const versions = (
    crd?.object.spec as { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> }
  ).versions;
  const v1 = versions.find((v) => v.name === 'v1');
  if (!v1) throw new Error(`no v1 schema for ${kind}`);
  return v1.schema.openAPIV3Schema;
}

describe('loadGatewayApiCrds', () => {
  it('returns only CustomResourceDefinitions of the pinned standard channel', () => {
    const names = crds.map((c) => c.object.metadata?.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'gatewayclasses.gateway.networking.k8s.io',
        'gateways.gateway.networking.k8s.io',
        'httproutes.gateway.networking.k8s.io',
        'referencegrants.gateway.networking.k8s.io',
      ]),
    );
    for (const c of crds) {
      expect(c.object.kind).toBe('CustomResourceDefinition');
      expect(c.object.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version']).toBe(
        gatewayApiVersion,
      );
      expect(c.object.metadata?.annotations?.['gateway.networking.k8s.io/channel']).toBe('standard');
      expect(c.yaml).toContain('kind: CustomResourceDefinition');
    }
  });
});

describe('labGatewayObjects', () => {
  const [gc, ns, g] = labGatewayObjects() as Array<{
    kind: string;
    metadata: { name: string; namespace?: string };
    spec?: Record<string, unknown>;
  }>;
  it('names the class, namespace and Gateway the gateway process serves', () => {
    expect([gc?.kind, gc?.metadata.name, (gc?.spec as { controllerName: string }).controllerName]).toEqual([
      'GatewayClass',
      labGateway.className,
      labGateway.controllerName,
    ]);
    expect([ns?.kind, ns?.metadata.name]).toEqual(['Namespace', labGateway.namespace]);
    expect([
      g?.kind,
      g?.metadata.namespace,
      g?.metadata.name,
      (g?.spec as { gatewayClassName: string }).gatewayClassName,
    ]).toEqual(['Gateway', 'lab-system', 'lab', 'onnxop-lab']);
  });
  it('fits the GatewayClass schema limits (the API server enforces them)', () => {
    const spec = schemaOf('GatewayClass').properties?.spec?.properties ?? {};
    const description = String(gc?.spec?.description);
    expect(Buffer.byteLength(description)).toBeLessThanOrEqual(spec.description?.maxLength ?? 0);
    expect(String(gc?.spec?.controllerName)).toMatch(new RegExp(spec.controllerName?.pattern ?? '^$'));
  });
});
