// What each member gets beyond the plain copy, and what drift means for it: the Overrides that
// select the object rendered for the member (a rule that cannot render leaves the member's copy as it
// was, with one InvalidOverride Event), the drift mode and the fields left to the member, and the
// report of a drift that is only reported.
import { FEDERATION_LABEL } from '../../shared/constants.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { type DriftMode, driftMode, driftedPaths, memberOwnedPaths } from '../../shared/propagation/drift.ts';
import { OverrideError, render } from '../../shared/propagation/overrides.ts';
import { copyHealth } from '../../shared/propagation/rules.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberRegistry } from '../members.ts';
import { objectKey } from '../runtime/reflector.ts';
import type { FederationObjects } from './federation-objects.ts';
import type { Overrides } from './overrides.ts';
import type { ClusterOutcome } from './types.ts';

export interface RenderingOptions {
  overrides: Overrides;
  members: MemberRegistry;
  objects: FederationObjects;
  events: EventRecorder;
}

export class Rendering {
  private readonly o: RenderingOptions;
  /** The last InvalidOverride or DriftDetected said per "cluster|key": one Event per distinct one. */
  private readonly said = new Map<string, string>();

  constructor(o: RenderingOptions) {
    this.o = o;
  }

  /** The copy is as wanted: a later failure or drift is said again. */
  forget(key: string): void {
    this.said.delete(`render|${key}`);
    this.said.delete(`drift|${key}`);
  }

  /**
   * The member's copy with the Overrides that select the object applied. A rule that cannot be
   * rendered leaves the member's copy as it was: one InvalidOverride Event per distinct failure.
   */
  async render(fed: FederatedObject, base: FederatedObject, cluster: string, key: string): Promise<{ copy: FederatedObject; overrides: string[] } | { error: string }> {
    const overrides = this.o.overrides.of(fed.metadata.namespace);
    if (overrides.length === 0) return { copy: base, overrides: [] };
    try {
      const { copy, applied } = render(base, overrides, { name: cluster, labels: this.o.members.cluster(cluster)?.metadata.labels ?? {} });
      if (copy.apiVersion !== base.apiVersion || copy.kind !== base.kind || copy.metadata.name !== base.metadata.name || copy.metadata.namespace !== base.metadata.namespace) {
        throw new OverrideError(applied.at(-1) ?? '?', 0, 'it changes the object\'s apiVersion, kind, name or namespace, which name the copy');
      }
      // The labels that make the copy this federation's are never overridden.
      copy.metadata.labels = { ...copy.metadata.labels, ...Object.fromEntries(Object.entries(base.metadata.labels ?? {}).filter(([k]) => k === PROPAGATED_BY_LABEL || k === FEDERATION_LABEL)) };
      this.said.delete(`render|${key}`);
      return { copy, overrides: applied };
    } catch (err) {
      if (!(err instanceof OverrideError)) throw err;
      const message = `cluster ${cluster}: ${err.message}; its copy there is left as it was: fix the Override (${fed.metadata.namespace ? `kubectl -n ${fed.metadata.namespace} edit override` : 'kubectl edit clusteroverride'} ${err.override})`;
      if (this.said.get(`render|${key}`) !== message) {
        this.said.set(`render|${key}`, message);
        await this.o.events.record(fed, 'Warning', 'InvalidOverride', message);
      }
      return { error: message };
    }
  }

  /** The object's drift mode and the fields it leaves to the member, or what is wrong with them. */
  driftModes(fed: FederatedObject): { mode: DriftMode; owned: string[] } | { error: string } {
    try {
      const ns = fed.metadata.namespace ? this.o.objects.namespaces.items.get(fed.metadata.namespace) : undefined;
      return { mode: driftMode(fed.metadata.annotations ?? {}, ns?.metadata.annotations ?? {}), owned: memberOwnedPaths(fed.metadata.annotations ?? {}) };
    } catch (err) {
      return { error: `${(err as Error).message}; nothing was changed in the members` };
    }
  }

  /** Report-only drift: the member's copy is left as someone changed it; one Event per distinct drift. */
  async reportDrift(fed: FederatedObject, cluster: string, key: string, drift: 'changed' | 'deleted', desired: FederatedObject, existing: FederatedObject | undefined, base: Partial<ClusterOutcome> & { cluster: string }): Promise<ClusterOutcome> {
    const what = `${fed.kind} ${objectKey(fed.metadata)}`;
    const message =
      drift === 'deleted'
        ? `cluster ${cluster}: ${what} was deleted in the member; not made again (${ANNOTATIONS.drift}: Report)`
        : `cluster ${cluster}: ${what} differs in the member at ${driftedPaths(desired, existing).join(', ')}; left as it is (${ANNOTATIONS.drift}: Report; remove it to have the federation's values put back)`;
    if (this.said.get(`drift|${key}`) !== message) {
      this.said.set(`drift|${key}`, message);
      await this.o.events.record(fed, 'Warning', 'DriftDetected', message);
    }
    return { ...base, ...(existing ? copyHealth(existing, true) : { applied: false, healthy: false }), ...(existing ? { copy: existing } : {}), current: false, reachable: true, waitsFor: 'user', error: message };
  }
}
