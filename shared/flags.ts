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
export function validateQuantity(text: string, flag: string): string {
  const m = quantityRe.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new InputError(`${flag}: "${text}" is not a storage quantity (use a form like 10Gi or 500Mi)`);
  }
  return text.trim();
}

/** -o/--output of a command whose only machine-readable output is its --dry-run's objects. */
export function dryRunFormat(output: string | undefined, dryRun: boolean): 'yaml' | 'json' {
  if (output !== undefined && !dryRun) {
    throw new InputError('-o/--output goes with --dry-run (it prints the objects that would be created); without --dry-run the command prints its progress');
  }
  return parseOneOf(output ?? 'yaml', ['yaml', 'json'] as const, '--output');
}
