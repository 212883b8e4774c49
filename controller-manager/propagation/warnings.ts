// What the propagation controller says on the federation's objects as Events, so `kubectl describe`
// tells why: a failure only once it outlasted its first retry (a RoleBinding that came a moment
// before its Role is no alarm), conflicts at once, nothing selected, objects that are never
// propagated (once each), and CRDs whose resources are not in --propagated-kinds.
import type { EventRecorder } from '../events.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import type { FederationObjects } from './federation-objects.ts';
import type { Records } from './records.ts';
import type { ClusterOutcome, Kind } from './types.ts';

export interface WarningsOptions {
  events: EventRecorder;
  objects: FederationObjects;
}

/** Reconciles in a row a failure may last before it is a Warning: a retry (back-off) or soon-kind ones (2 s apart). */
const PATIENCE = { retry: 2, soon: 15 } as const;

export class Warnings {
  private readonly o: WarningsOptions;
  /** Per queue key: reconciles in a row with a failure of each member. */
  private readonly streaks = new Map<string, Map<string, number>>();
  /** uid|reason of what was said once per object (never propagated, kinds not listed). */
  private readonly told = new Set<string>();

  constructor(o: WarningsOptions) {
    this.o = o;
  }

  forget(key: string): void {
    this.streaks.delete(key);
  }

  async report(key: string, fed: FederatedObject, outcomes: ClusterOutcome[], nothing: string | undefined, anyMember: boolean): Promise<void> {
    // With no member joined at all there is nobody to place on: the record says so, no Warning.
    if (nothing !== undefined && anyMember) await this.o.events.record(fed, 'Warning', 'NoClusterSelected', nothing);
    const before = this.streaks.get(key);
    const now = new Map<string, number>();
    for (const f of outcomes) {
      if (!f.error || f.waitsFor === 'member') continue;
      if (f.waitsFor === 'user') {
        await this.o.events.record(fed, 'Warning', 'Conflict', f.error);
        continue;
      }
      const n = (before?.get(f.cluster) ?? 0) + 1;
      now.set(f.cluster, n);
      if (n >= PATIENCE[f.waitsFor === 'soon' ? 'soon' : 'retry']) await this.o.events.record(fed, 'Warning', 'PropagationFailed', f.error);
    }
    if (now.size > 0) this.streaks.set(key, now);
    else this.streaks.delete(key);
  }

  /** An object the rules keep in the federation: its record and one Event say why, once. */
  async notPropagated(kind: Kind, fed: FederatedObject, reason: string, records: Records): Promise<void> {
    const told = `${fed.metadata.uid ?? ''}|${reason}`;
    if (this.told.has(told)) return;
    this.told.add(told);
    await records.writeRecord(kind, fed, [], `not propagated: ${reason}`);
    await this.o.events.record(fed, 'Normal', 'NotPropagated', reason);
  }

  /** A propagated CRD whose resources are not: they would stay in the federation without a word. */
  async kindNotListed(crd: FederatedObject): Promise<void> {
    const spec = crd.spec as { group?: string; names?: { kind?: string; plural?: string } } | undefined;
    const group = spec?.group;
    const kindName = spec?.names?.kind;
    if (!group || !kindName) return;
    const plural = spec.names?.plural ?? kindName.toLowerCase();
    if (this.o.objects.listed({ group, kind: kindName, plural })) return;
    const word = `${plural}.${group}`;
    const told = `${crd.metadata.uid ?? ''}|${word}`;
    if (this.told.has(told)) return;
    this.told.add(told);
    await this.o.events.record(
      crd,
      'Normal',
      'KindNotPropagated',
      `the members get this CustomResourceDefinition, but its ${kindName} objects stay in the federation: ${word} is not in the controller manager's --propagated-kinds; add it (kubectl federation init --controllermanager-arg-overrides=--propagated-kinds=...,${word}) and join each member with it (kubectl federation join CLUSTER --propagated-kinds=...,${word})`,
    );
  }
}
