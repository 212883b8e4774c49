// Kubernetes label selectors as kubectl writes them ("env=prod,tier in (web,api),!canary"), parsed
// once and matched against Cluster labels. Written here because no small library does it and the
// controller manager must not load client-node; test/unit checks it against the API server's own
// matching (a labelSelector list of the same labels).

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'doesnotexist' };

export type Selector = Requirement[];

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas outside parentheses. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim());
}

function checkKey(key: string, term: string): string {
  if (!KEY.test(key) || key.length > 316) throw new Error(`"${term}": "${key}" is not a label key`);
  return key;
}

function checkValue(value: string, term: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new Error(`"${term}": "${value}" is not a label value`);
  return value;
}

/** Throws with the offending term and an example to write instead. */
export function parseSelector(text: string): Selector {
  if (text.trim() === '') return [];
  const reqs: Selector = [];
  for (const term of terms(text)) {
    try {
      let m: RegExpExecArray | null;
      if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term))) {
        const values = m[3]!.split(',').map((v) => checkValue(v.trim(), term));
        reqs.push({ key: checkKey(m[1]!, term), op: m[2] as 'in' | 'notin', values });
      } else if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) {
        reqs.push({ key: checkKey(m[1]!, term), op: m[2] === '!=' ? 'notin' : 'in', values: [checkValue(m[3]!, term)] });
      } else if ((m = /^!\s*(\S+)$/.exec(term))) {
        reqs.push({ key: checkKey(m[1]!, term), op: 'doesnotexist' });
      } else if (/^\S+$/.test(term)) {
        reqs.push({ key: checkKey(term, term), op: 'exists' });
      } else {
        throw new Error(`"${term}" is not a selector term`);
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}; write e.g. "region=eu,tier in (web,api),!canary"`, { cause: err });
    }
  }
  return reqs;
}

export function matches(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'doesnotexist':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

/** A metav1.LabelSelector (matchLabels, matchExpressions) as requirements; an empty one selects everything. */
export function fromLabelSelector(s: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }): Selector {
  const reqs: Requirement[] = Object.entries(s.matchLabels ?? {}).map(([key, v]) => ({ key, op: 'in', values: [v] }));
  for (const e of s.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists' || op === 'doesnotexist') reqs.push({ key: e.key, op });
  }
  return reqs;
}
