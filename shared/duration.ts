// kubectl's forms of durations and quantities, validated with messages that say how to fix them.
import { InputError } from './errors.ts';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "5m", "1h30m", "250ms", or a bare number of seconds (kubectl's --request-timeout). */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (trimmed === '' || matched !== trimmed.length) {
    throw new InputError(`${flag}: "${text}" is not a duration (use a form like 30s, 5m or 1h30m)`);
  }
  return Math.round(total);
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

const dnsLabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDNSLabel(text: string): boolean {
  return text.length <= 63 && dnsLabelRe.test(text);
}

/** A name that must be a DNS-1123 label, or an error saying what one is. */
export function validateDNSLabel(text: string, what: string): string {
  if (!isDNSLabel(text)) {
    throw new InputError(
      `${what} "${text}" is not a valid name: use a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`,
    );
  }
  return text;
}
