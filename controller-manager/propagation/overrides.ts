// The federation's Overrides and ClusterOverrides, watched: which apply to an object, and the objects
// to look at again when one is created, changed or deleted (those it selected before or selects now).
import { FEDERATION_GROUP, FEDERATION_VERSION } from '../../shared/constants.ts';
import type { RestClient } from '../../shared/kube/rest.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { type Override, selects } from '../../shared/propagation/overrides.ts';
import type { Enqueue } from '../runtime/controller.ts';
import { objectKey, Reflector } from '../runtime/reflector.ts';
import type { FederationObjects } from './federation-objects.ts';
import type { Kind } from './types.ts';

type Named = Override & { metadata: { name: string } };

export class Overrides {
  readonly reflector: Reflector<Named>;
  readonly cluster: Reflector<Named>;

  constructor(o: { federation: RestClient; objects: FederationObjects; enqueue: Enqueue; log: (line: string) => void }) {
    const changed = (objects: Iterable<{ kind: Kind; obj: FederatedObject }>, ov: Named, old: Named | undefined) => {
      for (const { kind, obj } of objects) if (selects(ov, obj) || (old && selects(old, obj))) o.enqueue(`${kind.id}/${objectKey(obj.metadata)}`);
    };
    const base = `/apis/${FEDERATION_GROUP}/${FEDERATION_VERSION}`;
    this.reflector = new Reflector<Named>(o.federation, `${base}/overrides`, (_type, ov, old) => changed(o.objects.inside(ov.metadata.namespace ?? ''), ov, old), { log: o.log });
    this.cluster = new Reflector<Named>(o.federation, `${base}/clusteroverrides`, (_type, ov, old) => changed(o.objects.clusterScoped(), ov, old), { log: o.log });
  }

  run(signal: AbortSignal): Promise<unknown> {
    return Promise.all([this.reflector.run(signal), this.cluster.run(signal)]);
  }

  /** The Overrides of the object's namespace, or the ClusterOverrides (render picks those that select it). */
  of(namespace: string | undefined): Override[] {
    if (!namespace) return [...this.cluster.items.values()];
    return [...this.reflector.items.values()].filter((o) => o.metadata.namespace === namespace);
  }
}
