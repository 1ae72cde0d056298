// The generated action scripts and the argocd-cm snippet are committed; they must be what
// argocd/generate.ts makes of the customization's files now.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ACTIONS, ANNOTATION_ACTION } from '../operator/src/api/constants.ts';
import { ACTIONS_KEY, ARGOCD_CM_FILE, CUSTOMIZATION_DIR, HEALTH_KEY, generatedFiles, repoRoot, staleFiles } from './generate.ts';

describe('argocd/generate.ts', () => {
  test('the committed files are up to date (node argocd/generate.ts rewrites them)', () => {
    expect(staleFiles()).toEqual([]);
  });

  test('the argocd-cm snippet carries health.lua and every action under the keys Argo CD reads', () => {
    const files = generatedFiles();
    const cm = parse(files.get(ARGOCD_CM_FILE) ?? '') as { metadata: { name: string }; data: Record<string, string> };
    expect(cm.metadata.name).toBe('argocd-cm');
    expect(Object.keys(cm.data).sort()).toEqual([ACTIONS_KEY, HEALTH_KEY].sort());
    expect(HEALTH_KEY).toBe('resource.customizations.health.serving.onnxop.io_OnnxModel');
    expect(ACTIONS_KEY).toBe('resource.customizations.actions.serving.onnxop.io_OnnxModel');
    const actions = parse(cm.data[ACTIONS_KEY] ?? '') as { 'discovery.lua': string; definitions: { name: string; 'action.lua': string }[] };
    expect(actions['discovery.lua']).toBe(fs.readFileSync(path.join(repoRoot, CUSTOMIZATION_DIR, 'actions/discovery.lua'), 'utf8'));
    expect(cm.data[HEALTH_KEY]).toBe(fs.readFileSync(path.join(repoRoot, CUSTOMIZATION_DIR, 'health.lua'), 'utf8'));
    expect(actions.definitions.map((d) => d.name).sort()).toEqual([...ACTIONS].sort());
    for (const d of actions.definitions) {
      expect(d['action.lua']).toBe(files.get(`${CUSTOMIZATION_DIR}/actions/${d.name}/action.lua`));
      expect(d['action.lua']).toContain(`local verb = "${d.name}"`);
      expect(d['action.lua']).toContain(`local key = "${ANNOTATION_ACTION}"`);
    }
  });

  test('no script touches spec or needs the string or math library', () => {
    for (const [file, content] of generatedFiles()) {
      const code = content.split('\n').filter((l) => !l.trim().startsWith('--') && !l.trim().startsWith('#')).join('\n');
      expect({ file, string: /\bstring\.|:(sub|find|match|gsub|format|len|lower|upper)\(/.test(code), math: /\bmath\./.test(code), spec: /obj\.spec(\.\w+|\[[^\]]+\])*\s*=(?!=)/.test(code) }).toEqual({ file, string: false, math: false, spec: false });
    }
  });
});
