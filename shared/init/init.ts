// `kubectl federation init`: the whole flow in one place. The seven steps of the design (numbered
// as it numbers them; what needs no address runs while a load balancer's is awaited), then the wait
// for the new API server, the federation API, and the user's kubeconfig.
import { CLUSTER_LABEL, FEDERATION_API_VERSION } from '../constants.ts';
import { allInOrder, clause, UserError } from '../errors.ts';
import type { Kubeconfig, ResolvedContext } from '../kubeconfig.ts';
import { describePermission, missingPermissions, type Permission, permissions } from '../kube/access.ts';
import { credentialsFor } from '../kube/credentials.ts';
import { pluginCredentials } from '../kube/plugin-credentials.ts';
import { collectionPath, type KubeObject } from '../kube/resources.ts';
import { describeFailure } from '../kube/failures.ts';
import { ApiError, ConnectionError, RestClient } from '../kube/rest.ts';
import { LiveTarget, RecordingTarget } from '../kube/target.ts';
import type { Output } from '../output.ts';
import { MEMBER_SECRET_KEYS, tokenClaims } from '../member-credentials.ts';
import { runSteps, type Step, StepError } from '../steps.ts';
import type { InitConfig } from '../manifests/config.ts';
import { controllerBundle } from './controller-bundle.ts';
import { plannedUpgrade } from './upgrade.ts';
import type { Endpoint, InitData } from './data.ts';
import { createAPIServer } from './steps/create-apiserver.ts';
import { createControllerManager } from './steps/create-controller-manager.ts';
import { createControllerManagerKubeconfig } from './steps/create-controller-manager-kubeconfig.ts';
import { createEtcdCluster } from './steps/create-etcd-cluster.ts';
import { createEtcdStorage } from './steps/create-etcd-storage.ts';
import { createNamespace } from './steps/create-namespace.ts';
import { exposeAPIServer, waitForAddress } from './steps/expose-apiserver.ts';
import { generateCredentials } from './steps/generate-credentials.ts';
import { installFederationAPI } from './steps/install-federation-api.ts';
import { joinHostCluster } from './steps/join-host-cluster.ts';
import { checkRestoreTarget, type Restore, restoreObjects } from './steps/restore-objects.ts';
import { storeCredentials } from './steps/store-credentials.ts';
import { updateKubeconfig } from './steps/update-kubeconfig.ts';
import { waitForAPIServer } from './steps/wait-for-apiserver.ts';

export const initSteps: Step<InitData>[] = [
  createNamespace, // 1. a namespace for the federation's components
  exposeAPIServer, // 2. a Service; a load balancer's address is awaited while steps 3-5 and 7 run
  generateCredentials, // 3. CA, client certificates, keys, tokens
  createControllerManagerKubeconfig, // 4. the controller manager's kubeconfig Secret
  createEtcdStorage, // 5. a claim for etcd's data
  createEtcdCluster, // 5, with --ha: etcd as three members, a claim each
  createControllerManager, // 7. the controller manager Deployment: it needs no address
  waitForAddress, // then: the Service's address (a load balancer's)
  storeCredentials, // 3, finished: the API server's certificate for that address; every credential in a Secret
  createAPIServer, // 6. the API server Deployment (etcd + kube-apiserver)
  waitForAPIServer, // then: until the new API server answers
  installFederationAPI, // the Cluster resource, in the federation
  restoreObjects, // with --restore-from: the backup's objects, under its identity
  updateKubeconfig, // cluster, user and context NAME; switch to it
  joinHostCluster, // with --join: the host becomes a member too
];

export interface InitRequest {
  cfg: InitConfig;
  kubeconfig: Kubeconfig;
  hostContext: ResolvedContext;
  dryRun: boolean;
  requestTimeoutMs: number;
  out: Output;
  /** --restore-from: the backup, read and checked. */
  restore?: Restore;
}

export interface InitResult {
  endpoint?: Endpoint;
  /** Everything applied, in order (to the host, then to the federation): what --dry-run prints. */
  objects: KubeObject[];
  requests: number;
  elapsedMs: number;
  waitedMs: number;
  /** Requests that were polls while waiting: the rest is init's own work. */
  waitRequests: number;
  /** Clusters joined to the federation at the end (undefined in a dry run, or when it could not be asked). */
  members?: number;
  /** Of those, the ones holding a non-expiring token from an earlier join. */
  nonExpiring: string[];
  /** Objects this run created, changed or deleted (0: the federation was already as this version deploys it). */
  changed: number;
}

/** What init must be allowed to do in the host cluster. */
function neededPermissions(cfg: InitConfig): Permission[] {
  const rw = ['get', 'create', 'patch'];
  const needed = [
    ...permissions('', ['namespaces', 'services', 'secrets', 'configmaps', 'serviceaccounts'], rw),
    ...permissions('apps', ['deployments'], ['create', 'patch']),
    // An upgrade retires the Role older releases gave the controller manager.
    ...permissions('rbac.authorization.k8s.io', ['roles'], ['get']),
  ];
  if (cfg.etcd.persistentStorage && !cfg.etcd.servers) needed.push(...permissions('', ['persistentvolumeclaims'], ['create', 'patch']));
  if (cfg.ha) {
    needed.push(...permissions('policy', ['poddisruptionbudgets'], ['create', 'patch']));
    if (!cfg.etcd.servers) needed.push(...permissions('apps', ['statefulsets'], ['create', 'patch']));
  }
  if (cfg.serviceType === 'NodePort' && !cfg.advertiseAddress) needed.push(...permissions('', ['nodes'], ['list']));
  return needed;
}

/** Checks before writing anything that the host answers and lets this user do what init does. */
export async function checkHost(client: RestClient, cfg: InitConfig, contextName: string): Promise<void> {
  let missing: Permission[];
  try {
    missing = await missingPermissions(client, cfg.namespace, neededPermissions(cfg));
  } catch (err) {
    throw describeHostError(err, contextName);
  }
  if (missing.length > 0) {
    throw new UserError(
      `forbidden: context "${contextName}" may not ${missing.map(describePermission).join(', ')} in namespace ${cfg.namespace} of the host cluster; ` +
        'ask a cluster administrator for these permissions, or use another --host-cluster-context',
    );
  }
}

/** One line for a failed request to the host cluster. */
const describeHostError = (err: unknown, contextName: string) =>
  describeFailure(err, 'host cluster', contextName, 'check that it is up and that --host-cluster-context names it');

/** Steps that talk to the federation API server rather than to the host cluster. */
const federationSteps = new Set([installFederationAPI.name, joinHostCluster.name]);

/** The one line a failed step ends in: its own message, or the request that failed and where. */
function explainStepFailure(err: StepError, hostContext: string): unknown {
  const cause = err.cause;
  if (cause instanceof UserError) return cause;
  // Credentials refused are the context's problem wherever they happen; anything else mid-run
  // (a reset, a 500) is the step's, and a re-run continues from it.
  if (!federationSteps.has(err.step) && cause instanceof ApiError && (cause.status === 401 || cause.status === 403)) {
    return describeHostError(cause, hostContext);
  }
  if (cause instanceof ApiError || cause instanceof ConnectionError) {
    const where = federationSteps.has(err.step) ? 'the federation API server' : `the host cluster (context "${hostContext}")`;
    return new UserError(`step ${err.step}: ${where}: ${clause(cause.message)}; run init again to continue where it stopped`);
  }
  return cause;
}

export async function runInit(req: InitRequest): Promise<InitResult> {
  const started = Date.now();
  let hostClient: RestClient | undefined;
  if (!req.dryRun) {
    hostClient = new RestClient(await credentialsFor(req.hostContext, (ctx, creds) => pluginCredentials(ctx, creds, req.requestTimeoutMs)), req.requestTimeoutMs);
    // The server's warnings (a Pod Security level the pods would violate, a deprecation): each once.
    const warned = new Set<string>();
    hostClient.onWarning = (text) => {
      if (warned.has(text)) return;
      warned.add(text);
      req.out.warn(`the host cluster (context "${req.hostContext.name}") warns: ${text}`);
    };
  }
  const client = hostClient;
  let upgrade: string | undefined;
  if (client) {
    // Both only read; the permission check's verdict comes first when both fail.
    [, upgrade] = await allInOrder<[void, string | undefined]>([
      checkHost(client, req.cfg, req.hostContext.name),
      plannedUpgrade(client, req.cfg).catch((err: unknown) => {
        throw err instanceof UserError ? err : describeHostError(err, req.hostContext.name);
      }),
    ]);
    if (req.restore) {
      await checkRestoreTarget(client, req.cfg.namespace, req.cfg.name, req.restore).catch((err: unknown) => {
        throw err instanceof UserError ? err : describeHostError(err, req.hostContext.name);
      });
    }
  }
  const host = hostClient ? new LiveTarget(hostClient) : new RecordingTarget();
  const data: InitData = {
    cfg: req.cfg,
    host,
    hostClient,
    kubeconfig: req.kubeconfig,
    out: req.out,
    controllerBundle,
    requestTimeoutMs: req.requestTimeoutMs,
    waitedMs: 0,
    waitRequests: 0,
    extraRequests: 0,
    changes: 0,
    ...(upgrade ? { upgrade } : {}),
    ...(req.restore ? { restore: req.restore } : {}),
  };
  let members: number | undefined;
  let nonExpiring: string[] = [];
  try {
    await runSteps(initSteps, data, req.out);
    // What to suggest next depends on it: a federation with members needs no "join a cluster".
    // A CA made by this run belongs to a federation nobody has joined yet (but --join's host).
    const fresh = data.createdCA && !req.cfg.join && data.federationClient !== undefined;
    members = fresh ? 0 : await data.federationClient
      ?.get<{ items: unknown[] }>(collectionPath(FEDERATION_API_VERSION, 'Cluster'), { query: { limit: 500 } })
      .then((l) => l.items.length)
      .catch(() => undefined);
    if (members) nonExpiring = await membersWithNonExpiringTokens(data);
  } catch (err) {
    throw err instanceof StepError ? explainStepFailure(err, req.hostContext.name) : err;
  } finally {
    data.addressWait?.stop();
    hostClient?.close();
    data.federationClient?.close();
  }
  const objects = [
    ...(host instanceof RecordingTarget ? host.applied : []),
    ...(data.federation instanceof RecordingTarget ? data.federation.applied : []),
  ];
  return {
    endpoint: data.endpoint,
    objects,
    requests: (hostClient?.requests ?? 0) + (data.federationClient?.requests ?? 0) + data.extraRequests,
    elapsedMs: Date.now() - started,
    waitedMs: data.waitedMs,
    waitRequests: data.waitRequests,
    ...(members !== undefined ? { members } : {}),
    nonExpiring,
    changed: data.changes + (host instanceof LiveTarget ? host.changed : 0) + (data.federation instanceof LiveTarget ? data.federation.changed : 0),
  };
}

/**
 * Members joined before tokens expired hold a token that never does: an upgrade says which, so
 * they are joined again (join deletes the old token Secret and stores an expiring token).
 */
async function membersWithNonExpiringTokens(d: InitData): Promise<string[]> {
  const secrets = await d.federationClient
    ?.get<{ items: { metadata: { labels?: Record<string, string> }; data?: Record<string, string> }[] }>(collectionPath('v1', 'Secret', d.cfg.namespace), { query: { labelSelector: CLUSTER_LABEL } })
    .catch(() => undefined);
  return (secrets?.items ?? [])
    .filter((s) => s.data?.[MEMBER_SECRET_KEYS.token] && !tokenClaims(Buffer.from(s.data[MEMBER_SECRET_KEYS.token]!, 'base64').toString()).exp)
    .map((s) => s.metadata.labels?.[CLUSTER_LABEL] ?? '')
    .filter(Boolean)
    .sort();
}
