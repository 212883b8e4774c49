// Parsing of kubectl-style flag values shared by every command.
import { isIP } from 'node:net';
import { InputError } from './errors.ts';

/** A boolean flag as kubectl takes it: --flag, --flag=true, --flag=false. */
export function parseBool(value: string | boolean | undefined, flag: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (/^(true|1|t|yes)$/i.test(value)) return true;
  if (/^(false|0|f|no)$/i.test(value)) return false;
  throw new InputError(`${flag}: "${value}" is not a boolean (use ${flag}=true or ${flag}=false)`);
}

/**
 * --dry-run as kubectl takes it: bare, =client or =true print what would be done; =none or =false
 * do it. =server (the API server's own dry run of every write) is not offered: said in one line.
 */
export function parseDryRun(value: string | boolean | undefined): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  if (/^(client|true)$/i.test(value)) return true;
  if (/^(none|false)$/i.test(value)) return false;
  if (/^server$/i.test(value)) throw new InputError('--dry-run=server is not supported: use --dry-run=client (or plain --dry-run) to print what would be created');
  throw new InputError(`--dry-run: "${value}" is not one of client, none (or plain --dry-run)`);
}

/** "a,b,c" (a repeated flag joins the same way) without empty items. */
export function parseList(values: string | string[] | undefined): string[] {
  const all = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** "k=v,k2=v2" into a map, e.g. --node-selector. */
export function parseKeyValues(values: string | string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of parseList(values)) {
    const i = item.indexOf('=');
    if (i <= 0) throw new InputError(`${flag}: "${item}" is not of the form key=value`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

export function parseOneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) throw new InputError(`${flag}: "${value}" is not one of ${allowed.join(', ')}`);
  return match;
}

export function parseIP(value: string, flag: string): string {
  if (isIP(value) === 0) throw new InputError(`${flag}: "${value}" is not an IP address`);
  return value;
}

export function parsePort(value: string, flag: string, min = 1, max = 65535): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`${flag}: "${value}" is not a port number from ${min} to ${max}`);
  }
  return n;
}

const quantityRe = /^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** A Kubernetes resource quantity such as 10Gi or 500M, greater than zero. */
export function validateQuantity(text: string, flag: string, example = '10Gi or 500Mi', what = 'storage quantity'): string {
  const m = quantityRe.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new InputError(`${flag}: "${text}" is not a ${what} (use a form like ${example})`);
  }
  return text.trim();
}

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A validated quantity's value as a number (enough to compare a request with a limit). */
export function quantityValue(text: string): number {
  const m = quantityRe.exec(text.trim())!;
  const suffix = m[3] ?? '';
  return /^[eE]/.test(suffix) ? Number(`${m[1]}${suffix}`) : Number(m[1]) * SUFFIX[suffix]!;
}

const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];

/**
 * "requests.cpu=250m,limits.memory=1Gi" over defaults, e.g. --apiserver-resources. A key given
 * with an empty value ("limits.memory=") removes the default.
 */
export function parseResources(
  value: string | undefined,
  flag: string,
  defaults: { requests: Record<string, string>; limits: Record<string, string> },
): { requests: Record<string, string>; limits: Record<string, string> } {
  const out = { requests: { ...defaults.requests }, limits: { ...defaults.limits } };
  for (const item of parseList(value)) {
    const m = /^(requests|limits)\.([a-z-]+)=(.*)$/.exec(item);
    if (!m || !RESOURCE_NAMES.includes(m[2]!)) {
      throw new InputError(`${flag}: "${item}" is not of the form requests.NAME=QUANTITY or limits.NAME=QUANTITY with NAME one of ${RESOURCE_NAMES.join(', ')} (e.g. ${flag}=requests.cpu=250m,limits.memory=1Gi)`);
    }
    const [, kind, name, quantity] = m as unknown as [string, 'requests' | 'limits', string, string];
    if (quantity === '') delete out[kind][name];
    else out[kind][name] = validateQuantity(quantity, `${flag} ${kind}.${name}`, name === 'cpu' ? '250m or 1' : '512Mi or 1Gi', 'quantity');
  }
  for (const [name, limit] of Object.entries(out.limits)) {
    const request = out.requests[name];
    if (request !== undefined && quantityValue(request) > quantityValue(limit)) {
      throw new InputError(`${flag}: requests.${name}=${request} is more than limits.${name}=${limit}; a request may not exceed its limit`);
    }
  }
  return out;
}

/** An IPv4 or IPv6 CIDR such as 10.0.0.0/8, e.g. --api-server-load-balancer-source-ranges. */
export function parseCIDR(value: string, flag: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) {
    throw new InputError(`${flag}: "${value}" is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32`);
  }
  return value;
}

/** -o/--output of a command whose only machine-readable output is its --dry-run's objects. */
export function dryRunFormat(output: string | undefined, dryRun: boolean): 'yaml' | 'json' {
  if (output !== undefined && !dryRun) {
    throw new InputError('-o/--output goes with --dry-run (it prints the objects that would be created); without --dry-run the command prints its progress');
  }
  return parseOneOf(output ?? 'yaml', ['yaml', 'json'] as const, '--output');
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** --cluster-labels (join, token create): valid label keys and values. */
export function clusterLabelsFlag(values: string[] | undefined): Record<string, string> {
  const labels = parseKeyValues(values, '--cluster-labels');
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) throw new InputError(`--cluster-labels: "${k}" is not a label key such as region or example.com/tier`);
    if (!LABEL_VALUE.test(v)) throw new InputError(`--cluster-labels: "${v}" (for ${k}) is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
  }
  return labels;
}
