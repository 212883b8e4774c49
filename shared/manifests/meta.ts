// Labels and metadata shared by every object the product creates.
import { COMPONENT_LABEL, FEDERATION_LABEL, MANAGED_BY } from '../constants.ts';

export function federationLabels(federation: string, component?: string): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/part-of': 'kubectl-federation',
    [FEDERATION_LABEL]: federation,
  };
  if (component) labels[COMPONENT_LABEL] = component;
  return labels;
}

/** The labels a Service or Deployment selects a component's pods by (stable across versions). */
export function selectorLabels(federation: string, component: string): Record<string, string> {
  return { [FEDERATION_LABEL]: federation, [COMPONENT_LABEL]: component };
}

export function metadata(name: string, federation: string, component?: string, namespace?: string) {
  return namespace === undefined
    ? { name, labels: federationLabels(federation, component) }
    : { name, namespace, labels: federationLabels(federation, component) };
}

/**
 * Parses "--a=b,--c=d" (the form kubefed used for --apiserver-arg-overrides) into { '--a': 'b', ... }.
 * Returns an error message instead when the text has another form.
 */
export function parseArgOverrides(text: string, flag: string): Record<string, string> | string {
  const result: Record<string, string> = {};
  if (text.trim() === '') return result;
  let last: string | undefined;
  for (const part of text.split(',')) {
    // A part that is no flag continues the value before it: --authorization-mode=RBAC,Node.
    if (last !== undefined && !part.trim().startsWith('-')) {
      result[last] += `,${part.trim()}`;
      continue;
    }
    const match = /^\s*(--[a-z0-9][a-z0-9-]*)=(.*?)\s*$/.exec(part);
    if (!match) {
      return `${flag}: "${part.trim()}" is not of the form --flag=value (use ${flag}="--a=b,--c=d")`;
    }
    last = match[1]!;
    result[last] = match[2]!;
  }
  return result;
}

/** Replaces flags the overrides name and appends the rest, keeping the order stable. */
export function applyArgOverrides(args: string[], overrides: Record<string, string>): string[] {
  const used = new Set<string>();
  const out = args.map((arg) => {
    const flag = arg.split('=')[0]!;
    if (flag in overrides) {
      used.add(flag);
      return `${flag}=${overrides[flag]}`;
    }
    return arg;
  });
  for (const [flag, value] of Object.entries(overrides)) if (!used.has(flag)) out.push(`${flag}=${value}`);
  return out;
}
