// Names Kubernetes accepts, checked with messages that say what a valid one looks like.
import { InputError } from './errors.ts';

const dnsLabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDNSLabel(text: string): boolean {
  return text.length <= 63 && dnsLabelRe.test(text);
}

/** The nearest DNS-1123 label to text ("My_Fed" -> "my-fed"), or undefined when nothing is left. */
export function suggestDNSLabel(text: string): string | undefined {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return s === '' ? undefined : s;
}

/** A name that must be a DNS-1123 label, or an error saying what one is and suggesting one. */
export function validateDNSLabel(text: string, what: string): string {
  if (!isDNSLabel(text)) {
    const suggestion = suggestDNSLabel(text);
    throw new InputError(
      `${what} "${text}" is not a valid name: use a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)${suggestion ? `, such as "${suggestion}"` : ''}`,
    );
  }
  return text;
}
