// `kubectl federation deinit`: the whole flow in one place. Removes what init made for one
// federation, found by its labels, in the reverse of init's order; re-running after an interruption
// finishes the job (every step deletes what is still there and tolerates what is already gone).
import { FEDERATION_API_VERSION, FEDERATION_LABEL, type FederationContextExtension, MANAGED_BY } from '../constants.ts';
import { errorMessage, UserError } from '../errors.ts';
import { findFederationContext } from '../federation-context.ts';
import type { Kubeconfig, ResolvedContext } from '../kubeconfig.ts';
import { type ApiResource, resourcePath } from '../kube/discovery.ts';
import { describeFailure } from '../kube/failures.ts';
import { collectionPath } from '../kube/resources.ts';
import { ApiError, isNotFound, type RestClient } from '../kube/rest.ts';
import { clientFor } from '../join/contexts.ts';
import { runUnjoin } from '../unjoin/unjoin.ts';
import type { Output } from '../output.ts';
import { runSteps, type Step, StepError } from '../steps.ts';
import { done, notYet, poll } from '../wait.ts';

export interface DeinitRequest {
  kubeconfig: Kubeconfig;
  /** The federation's name or context (default: the current context). */
  name?: string;
  unjoinMembers: boolean;
  /** Leave the members joined, their copies running (a restore from a backup brings the federation back). */
  keepMembers?: boolean;
  purgeData: boolean;
  dryRun: boolean;
  requestTimeoutMs: number;
  out: Output;
}

interface DeinitData {
  req: DeinitRequest;
  federationContext: ResolvedContext;
  ext: FederationContextExtension;
  host: RestClient;
  /** Undefined when the federation API server no longer answers (a deinit that was interrupted). */
  federation?: RestClient;
  /** What was (or, in a dry run, would be) removed, one "Kind namespace/name" each. */
  removed: string[];
  keptClaims: string[];
}

type Kind = Pick<ApiResource, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;
const kind = (group: string, version: string, k: string, plural: string): Kind => ({ group, version, kind: k, plural, namespaced: true });

/** The control plane's pods come from these: deinit waits until they are gone. */
const WORKLOADS: Kind[] = [kind('apps', 'v1', 'Deployment', 'deployments'), kind('apps', 'v1', 'StatefulSet', 'statefulsets')];
/** What init (and join, for members' credentials) creates in the host namespace, in deletion order. */
const HOST_KINDS: Kind[] = [
  ...WORKLOADS,
  kind('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  kind('', 'v1', 'Service', 'services'),
  kind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  kind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  kind('', 'v1', 'ServiceAccount', 'serviceaccounts'),
  kind('', 'v1', 'ConfigMap', 'configmaps'),
  kind('', 'v1', 'Secret', 'secrets'),
];
const CLAIMS = kind('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims');

interface Listed {
  items: { metadata: { name: string; namespace?: string; labels?: Record<string, string> } }[];
}

const selector = (federation: string) => `app.kubernetes.io/managed-by=${MANAGED_BY},${FEDERATION_LABEL}=${federation}`;

/** Deletes what matches; in a dry run only names it. Already gone is fine. */
async function removeAll(d: DeinitData, k: Kind): Promise<string[]> {
  const list = await d.host.get<Listed>(resourcePath(k, d.ext.namespace), { query: { labelSelector: selector(d.ext.federation) } });
  const names: string[] = [];
  for (const item of list.items) {
    names.push(`${k.kind} ${d.ext.namespace}/${item.metadata.name}`);
    if (d.req.dryRun) continue;
    await d.host.request('DELETE', resourcePath(k, d.ext.namespace, item.metadata.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
  return names;
}

const checkMembers: Step<DeinitData> = {
  name: 'check-members',
  title: (d) => `Checking the members of federation ${d.ext.federation}`,
  run: async (d) => {
    if (!d.federation) return 'the federation API server does not answer: no members to check';
    const federation = d.federation;
    // An API server that has just started answers 5xx ("storage is (re)initializing") or 404 for a
    // moment: asked again for a while, since refusing or skipping the member check would be wrong.
    const list = await poll(
      async () => {
        try {
          return done(await federation.get<Listed>(collectionPath(FEDERATION_API_VERSION, 'Cluster')));
        } catch (err) {
          if (err instanceof ApiError && (err.status >= 500 || err.status === 404 || err.status === 429)) return notYet(err.message);
          throw err;
        }
      },
      { what: 'the federation API server to list its members', timeoutMs: 60_000, intervalMs: 500 },
    );
    const members = list.items.map((c) => c.metadata.name);
    if (members.length === 0) return 'none';
    if (d.req.keepMembers) return `left as they are: ${members.join(', ')} (their copies keep running; init --restore-from brings the federation back to them)`;
    if (!d.req.unjoinMembers) {
      throw new UserError(
        `federation ${d.ext.federation} still has members: ${members.join(', ')}; unjoin them first, pass --unjoin-members to have deinit do it, or --keep-members to leave them for a restore from a backup`,
      );
    }
    if (d.req.dryRun) return `would unjoin ${members.join(', ')}`;
    for (const cluster of members) {
      // Each member's own identity and credentials go too; an unreachable member is warned about.
      await runUnjoin({
        kubeconfig: d.req.kubeconfig,
        cluster,
        federationContext: d.federationContext.name,
        hostContext: d.ext.hostContext,
        namespace: d.ext.namespace,
        ignoreNotFound: true,
        requestTimeoutMs: d.req.requestTimeoutMs,
        out: d.req.out,
      });
    }
    return `unjoined ${members.join(', ')}`;
  },
};

const deleteControlPlane: Step<DeinitData> = {
  name: 'delete-control-plane',
  title: (d) => `Deleting the control plane of federation ${d.ext.federation} from namespace ${d.ext.namespace}`,
  run: async (d) => {
    for (const k of HOST_KINDS) d.removed.push(...(await removeAll(d, k)));
    if (!d.req.dryRun) {
      // Gone means gone: the pods stop before deinit says it is done, so that an init right after it
      // starts from nothing (and etcd's volume is free).
      await poll(
        async () => {
          const lists = await Promise.all(WORKLOADS.map((k) => d.host.get<Listed>(resourcePath(k, d.ext.namespace), { query: { labelSelector: selector(d.ext.federation) } })));
          const left = lists.flatMap((l) => l.items);
          return left.length === 0 ? done(true) : notYet(`${left.map((i) => i.metadata.name).join(', ')} still stopping`);
        },
        { what: `the control plane's Deployments and StatefulSets in namespace ${d.ext.namespace} to be gone`, timeoutMs: 5 * 60_000, intervalMs: 500 },
      );
    }
    const claims = await d.host.get<Listed>(resourcePath(CLAIMS, d.ext.namespace), { query: { labelSelector: selector(d.ext.federation) } });
    if (d.req.purgeData) d.removed.push(...(await removeAll(d, CLAIMS)));
    else d.keptClaims = claims.items.map((c) => c.metadata.name);
    return `${d.removed.length} objects`;
  },
};

const deleteNamespace: Step<DeinitData> = {
  name: 'delete-namespace',
  title: (d) => `Deleting namespace ${d.ext.namespace}`,
  run: async (d) => {
    const ns = await d.host.find<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/namespaces/${encodeURIComponent(d.ext.namespace)}`);
    if (!ns) return 'already gone';
    if (ns.metadata.labels?.[FEDERATION_LABEL] !== d.ext.federation) return 'kept: init did not create it';
    if (d.keptClaims.length > 0) return `kept: it holds etcd's data (${d.keptClaims.join(', ')})`;
    // Only when nothing but what deinit removes is in it: another tenant's objects are never taken along.
    const others: string[] = [];
    for (const k of [...HOST_KINDS, CLAIMS]) {
      const list = await d.host.get<Listed>(resourcePath(k, d.ext.namespace));
      for (const item of list.items) {
        const ours = item.metadata.labels?.[FEDERATION_LABEL] === d.ext.federation;
        const defaults = (k.kind === 'ServiceAccount' && item.metadata.name === 'default') || (k.kind === 'ConfigMap' && item.metadata.name === 'kube-root-ca.crt');
        if (!ours && !defaults) others.push(`${k.kind} ${item.metadata.name}`);
      }
    }
    if (others.length > 0) return `kept: it also holds ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}`;
    d.removed.push(`Namespace ${d.ext.namespace}`);
    if (d.req.dryRun) return undefined;
    await d.host.request('DELETE', `/api/v1/namespaces/${encodeURIComponent(d.ext.namespace)}`).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    // Gone, not terminating: an init (or a restore) right after deinit must find no namespace being deleted.
    await poll(
      async () => ((await d.host.find(`/api/v1/namespaces/${encodeURIComponent(d.ext.namespace)}`)) ? notYet('still terminating') : done(true)),
      { what: `namespace ${d.ext.namespace} to be gone`, timeoutMs: 5 * 60_000, intervalMs: 500 },
    );
    return undefined;
  },
};

const updateKubeconfig: Step<DeinitData> = {
  name: 'update-kubeconfig',
  title: () => 'Removing the federation from the kubeconfig',
  run: async (d) => {
    const kc = d.req.kubeconfig;
    const ctx = kc.context(d.federationContext.name);
    const current = kc.currentContext === d.federationContext.name;
    d.removed.push(`kubeconfig context ${d.federationContext.name}`);
    if (d.req.dryRun) return current ? `would switch to context "${d.ext.hostContext}"` : undefined;
    kc.write({
      remove: { contexts: [d.federationContext.name], clusters: ctx ? [ctx.cluster] : [], users: ctx?.user ? [ctx.user] : [] },
      ...(current ? { currentContext: d.ext.hostContext } : {}),
    });
    return current ? `switched to context "${d.ext.hostContext}"` : undefined;
  },
};

export const deinitSteps: Step<DeinitData>[] = [
  checkMembers, // 1. no members left behind unasked (--unjoin-members unjoins them)
  deleteControlPlane, // 2. what init made in the host namespace (etcd's claim only with --purge-data)
  deleteNamespace, // 3. the namespace, if init made it and nothing else is in it
  updateKubeconfig, // 4. the context, cluster and user init added; back to the host context
];

export interface DeinitResult {
  federation: string;
  removed: string[];
  keptClaims: string[];
  namespace: string;
  hostContext: string;
}

export async function runDeinit(req: DeinitRequest): Promise<DeinitResult> {
  const { context, ext } = findFederationContext(req.kubeconfig, req.name);
  const ctx = req.kubeconfig.resolve(context);
  const hostCtx = req.kubeconfig.resolve(ext.hostContext, '--host-cluster-context');
  const host = await clientFor(hostCtx, req.requestTimeoutMs);
  let federation: RestClient | undefined = await clientFor(ctx, req.requestTimeoutMs);
  try {
    await host.get('/version').catch((err: unknown) => {
      throw describeFailure(err, 'host cluster', hostCtx.name);
    });
    // A federation whose API server is already gone (an interrupted deinit) has no members to ask.
    await federation.get('/version', { timeoutMs: Math.min(req.requestTimeoutMs, 5000) }).catch((err: unknown) => {
      req.out.warn(`the federation API server (context "${ctx.name}") does not answer (${errorMessage(err)}); removing the rest`);
      federation?.close();
      federation = undefined;
    });
    const data: DeinitData = { req, federationContext: ctx, ext, host, removed: [], keptClaims: [], ...(federation ? { federation } : {}) };
    try {
      await runSteps(deinitSteps, data, req.out, { dryRun: req.dryRun });
    } catch (err) {
      if (err instanceof StepError && !(err.cause instanceof UserError)) {
        throw new UserError(`step ${err.step}: ${errorMessage(err.cause)}; run deinit again to continue where it stopped`);
      }
      throw err instanceof StepError ? err.cause : err;
    }
    return { federation: ext.federation, removed: data.removed, keptClaims: data.keptClaims, namespace: ext.namespace, hostContext: ext.hostContext };
  } finally {
    host.close();
    federation?.close();
  }
}
