// The TypeScript types and the CRD must describe the same fields: the key trees in types.ts are
// tied to the types by tsc (`satisfies KeyTree<...>`) and to the CRD schema by this test. It also
// holds the CRD to its own rules: every field described, enums in step with the types.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONDITION_TYPES, GATE_NAMES, PHASES, SPEC_KEYS, STATUS_KEYS, type KeyTreeNode } from './types.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: string[];
}

const crd = parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../../crds/onnxmodel.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const root = crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
const props = root.properties ?? {};

/** The CRD schema as a key tree: objects and arrays of objects recurse, everything else is a leaf. */
function treeOf(s: Schema): KeyTreeNode {
  const target = s.type === 'array' && s.items ? s.items : s;
  if (!target.properties) return true;
  return Object.fromEntries(Object.entries(target.properties).map(([k, v]) => [k, treeOf(v)]));
}

function walk(s: Schema, at: string, visit: (s: Schema, at: string) => void): void {
  visit(s, at);
  for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${at}.${k}`, visit);
  if (s.items) walk(s.items, `${at}[]`, visit);
  if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}.*`, visit);
}

describe('types.ts against crds/onnxmodel.yaml', () => {
  it('spec fields match exactly', () => {
    expect(treeOf(props['spec'] as Schema)).toEqual(SPEC_KEYS);
  });

  it('status fields match exactly', () => {
    expect(treeOf(props['status'] as Schema)).toEqual(STATUS_KEYS);
  });

  it('phase enum matches the Phase type', () => {
    expect(props['status']?.properties?.['phase']?.enum).toEqual([...PHASES]);
    expect(CONDITION_TYPES).toEqual(['ArtifactVerified', 'Available', 'Progressing', 'Degraded', 'Ready']);
  });

  it('gate name enum matches GATE_NAMES (status parsing keeps exactly these)', () => {
    const gates = props['status']?.properties?.['lastAnalysis']?.properties?.['gates']?.items;
    expect(gates?.properties?.['name']?.enum).toEqual([...GATE_NAMES]);
  });

  it('describes every field (kubectl explain works everywhere)', () => {
    const missing: string[] = [];
    walk(props['spec'] as Schema, 'spec', (s, at) => {
      if (!at.endsWith('.*') && !s.description) missing.push(at);
    });
    walk(props['status'] as Schema, 'status', (s, at) => {
      if (!at.endsWith('.*') && !s.description) missing.push(at);
    });
    expect(missing).toEqual([]);
  });
});
