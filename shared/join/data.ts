// What join's steps share.
import type { Kubeconfig } from '../kubeconfig.ts';
import type { RestClient } from '../kube/rest.ts';
import type { Target } from '../kube/target.ts';
import type { Output } from '../output.ts';
import type { JoinMembership } from './contexts.ts';

export interface JoinData {
  readonly kubeconfig: Kubeconfig;
  readonly m: JoinMembership;
  readonly useKubeconfigCredentials: boolean;
  readonly out: Output;
  readonly timeoutMs: number;
  /** --propagated-kinds: what the member's role must allow. */
  readonly propagatedKinds: string[];
  /** How long the member token join asks for lives (the controller manager renews it). */
  readonly tokenLifetimeSeconds: number;
  /** --cluster-labels: on the Cluster, for placement. */
  readonly clusterLabels: Record<string, string>;
  /** --cluster-server, when given. */
  readonly clusterServer?: string;
  /** Live clients: join reads for real even in a dry run, to check before it would write. */
  readonly clients: { federation: RestClient; member: RestClient };
  /** Where writes go: the clusters, or recorders in a dry run. */
  readonly targets: { federation: Target; member: Target };
  /** The member's server URL, as the Cluster will name it. */
  server: string;
  alreadyJoined: boolean;
  /** What a re-run found broken and put right (a revoked token...), for the closing line. */
  repaired: string[];
  secretData?: Record<string, string>;
}
