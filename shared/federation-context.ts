// Which kubeconfig context a day-two command (deinit, status) is about: the current context by
// default, or NAME as a context or a federation's name, recognised by the extension init records.
import { CONTEXT_EXTENSION, type FederationContextExtension } from './constants.ts';
import { InputError } from './errors.ts';
import type { Kubeconfig } from './kubeconfig.ts';

export function findFederationContext(kc: Kubeconfig, name: string | undefined): { context: string; ext: FederationContextExtension } {
  const byName = (n: string) => kc.contextNames().filter((c) => kc.contextExtension<FederationContextExtension>(c, CONTEXT_EXTENSION)?.federation === n);
  const candidates = name === undefined ? [kc.currentContext] : [name, ...byName(name)];
  for (const c of candidates) {
    const ext = c && kc.context(c) ? kc.contextExtension<FederationContextExtension>(c, CONTEXT_EXTENSION) : undefined;
    if (c && ext) return { context: c, ext };
  }
  const known = kc.contextNames().filter((c) => kc.contextExtension(c, CONTEXT_EXTENSION));
  throw new InputError(
    `${name === undefined ? `the current context${kc.currentContext ? ` "${kc.currentContext}"` : ''} is not` : `"${name}" names no`} federation that init made in ${kc.describePaths()}` +
      (known.length > 0 ? `; federations: ${known.join(', ')}: pass one as NAME` : ': run kubectl federation init first'),
  );
}
