// Prints objects as kubectl does (-o yaml: documents separated by ---; -o json: a v1 List), with
// every secret value redacted: output of this tool never carries keys, tokens or credentials.
import { stringify } from 'yaml';
import type { KubeObject } from './kube/resources.ts';

export type OutputFormat = 'yaml' | 'json';

export const REDACTED = 'REDACTED';

export function redact(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  if (copy.kind === 'Secret') {
    for (const field of ['data', 'stringData'] as const) {
      const values = copy[field] as Record<string, string> | undefined;
      if (values) for (const key of Object.keys(values)) values[key] = REDACTED;
    }
  }
  if (copy.kind === 'ConfigMap') {
    // Not secret, but a bundle of code is no reading matter: say what it is instead.
    for (const field of ['data', 'binaryData'] as const) {
      const values = copy[field] as Record<string, string> | undefined;
      if (values) for (const [key, value] of Object.entries(values)) values[key] = `<${value.length} bytes>`;
    }
  }
  return copy;
}

export function formatObjects(objects: KubeObject[], format: OutputFormat): string {
  const redacted = objects.map(redact);
  if (format === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: redacted }, null, 2)}\n`;
  // kubectl never prints YAML anchors and aliases (&a1, *a1): an object used twice is written twice.
  return redacted.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** A report (status, certificates, version) as -o json or -o yaml print it. */
export function formatReport(value: unknown, format: OutputFormat): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
