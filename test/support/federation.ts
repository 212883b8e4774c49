// Test support for the federation API: a local plane set up as a federation API server (the
// Cluster API installed by the same code init uses), member credentials, Cluster objects, and a
// controller manager run from the very bytes init ships in its ConfigMap.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { CONTEXT_EXTENSION, FEDERATION_GROUP, FEDERATION_VERSION } from '../../shared/constants.ts';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import type { Planes } from './localcluster.ts';
import { applyObject } from '../../shared/kube/apply.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { RestClient } from '../../shared/kube/rest.ts';
import { controllerBundle } from '../../shared/init/controller-bundle.ts';
import { initConfigFromFlags } from '../../shared/init/options.ts';
import { CONTROLLER_ENV, CONTROLLER_NODE_FLAGS, controllerManagerCode } from '../../shared/manifests/controller-manager.ts';
import { type Cluster, type ClusterCondition, federationAPIObjects } from '../../shared/manifests/federation-api.ts';
import { federationPolicies } from '../../shared/manifests/federation-policies.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { statusOf } from './kube.ts';
import { kubeconfigText } from '../../shared/manifests/kubeconfig.ts';
import type { MemberNames } from '../../shared/manifests/member.ts';
import { agentAccount, agentRole, agentRoleBinding, pullClusterObject, pullNamespaceObject } from '../../shared/manifests/pull.ts';
import { requestToken } from '../../shared/member-credentials.ts';
import { AGENT_ACCOUNT, pullNamespace } from '../../shared/pull/names.ts';

/** Installs the federation API into the plane of context, exactly as init's step does. */
export async function installFederationAPI(kubeconfigPath: string, context: string): Promise<void> {
  const kc = Kubeconfig.load(kubeconfigPath);
  const client = new RestClient(await credentialsFor(kc.resolve(context)));
  try {
    for (const obj of [...federationAPIObjects('test', 'federation-system'), ...federationPolicies('test')]) await applyObject(client, obj);
    await poll(
      async () => {
        const crd = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.${FEDERATION_GROUP}`,
        );
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? done(true) : notYet('not established');
      },
      { what: 'the Cluster resource', timeoutMs: 30_000, intervalMs: 100 },
    );
  } finally {
    client.close();
  }
}

/** A kubeconfig file whose current context is context (what a component is given). */
/**
 * One plane of a local node made the federation, as init leaves one: its own kube-controller-manager
 * stopped (init's federation runs none), a kubeconfig whose federation context records its host and
 * namespace (the current context), and the Cluster API installed. Returns the kubeconfig's path.
 */
export async function federationOn(planes: Pick<Planes, 'kubeconfig' | 'control'>, dir: string, fed: string): Promise<string> {
  await planes.control('stop', fed, 'kube-controller-manager');
  const kubeconfig = join(dir, 'kubeconfig');
  copyFileSync(planes.kubeconfig, kubeconfig);
  Kubeconfig.load(kubeconfig).write({
    contexts: { [fed]: { cluster: `${fed}-cluster`, user: `${fed}-admin`, extensions: [{ name: CONTEXT_EXTENSION, extension: { hostContext: fed, namespace: 'federation-system', federation: fed } }] } },
    currentContext: fed,
  });
  await installFederationAPI(kubeconfig, fed);
  return kubeconfig;
}

/**
 * The controller manager's flags for a federation made by federationOn: probes every second, two
 * failures to leave Ready, the default resync (what must happen sooner must be due, not resynced).
 */
export function testControllerArgs(kubeconfig: string, fed: string): string[] {
  return [`--kubeconfig=${kubeconfigFor(kubeconfig, fed)}`, '--federation-namespace=federation-system', `--federation-name=${fed}`, '--cluster-monitor-period=1s', '--failure-threshold=2', '--resync-period=5m', '--leader-elect=false', '--healthz-port=0'];
}

export function kubeconfigFor(kubeconfigPath: string, context: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'component-kubeconfig-')), 'config');
  copyFileSync(kubeconfigPath, path);
  Kubeconfig.load(path).write({ currentContext: context });
  return path;
}

/** A token for a new service account of the member: what join stores, in small. */
export async function memberToken(member: KubeConfig, name: string): Promise<string> {
  const core = member.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name } } }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
  const token = await core.createNamespacedServiceAccountToken({ name, namespace: 'default', body: { spec: { expirationSeconds: 3600 } } });
  return token.status?.token ?? '';
}

export async function storeMemberSecret(host: KubeConfig, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const core = host.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
  const body = { metadata: { name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
  await core.replaceNamespacedSecret({ name, namespace, body }).catch(async (err: unknown) => {
    if (statusOf(err) !== 404) throw err;
    await core.createNamespacedSecret({ namespace, body });
  });
}

const crd = { group: FEDERATION_GROUP, version: FEDERATION_VERSION, plural: 'clusters' };

export async function createCluster(federation: KubeConfig, cluster: Omit<Cluster, 'apiVersion' | 'kind'>): Promise<void> {
  await federation
    .makeApiClient(CustomObjectsApi)
    .createClusterCustomObject({ ...crd, body: { apiVersion: `${FEDERATION_GROUP}/${FEDERATION_VERSION}`, kind: 'Cluster', ...cluster } });
}

export async function readCluster(federation: KubeConfig, name: string): Promise<Cluster> {
  return (await federation.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...crd, name })) as Cluster;
}

/** Waits until the cluster's Ready condition satisfies want. */
export function waitForReady(
  federation: KubeConfig,
  name: string,
  want: (ready: ClusterCondition | undefined, cluster: Cluster) => boolean,
  timeoutMs: number,
): Promise<Cluster> {
  return poll(
    async () => {
      const c = await readCluster(federation, name);
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      return want(ready, c) ? done(c) : notYet(`Ready is ${JSON.stringify(ready)}`);
    },
    { what: `cluster ${name}'s Ready condition`, timeoutMs, intervalMs: 200 },
  );
}

export interface RunningController {
  process: ChildProcess;
  exited: Promise<number | null>;
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The controller manager's code exactly as init ships it in the ConfigMap, written to a file. */
export async function shippedControllerFile(): Promise<string> {
  const cfg = initConfigFromFlags({ hostContext: 'host' });
  const { configMap } = controllerManagerCode(cfg, await controllerBundle());
  const file = join(mkdtempSync(join(tmpdir(), 'controller-code-')), 'controller-manager.cjs');
  const code = configMap.data?.['controller-manager.cjs'];
  if (!code) throw new Error('the ConfigMap carries no plain code file');
  writeFileSync(file, code);
  return file;
}

/** Starts the controller manager from the shipped bytes with Node 22 (this test's own node). */
export async function startController(args: string[]): Promise<RunningController> {
  const file = await shippedControllerFile();
  const child = spawn(process.execPath, [...CONTROLLER_NODE_FLAGS, file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...CONTROLLER_ENV },
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    exited,
    log: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * A pull member's place in the federation as token create and join --pull leave it (its namespace,
 * the agent's account and Role, the Pull Cluster), and a kubeconfig file for its agent with the
 * agent's own token, reaching the federation at server (trusting caPem): an agent run as a process.
 */
export async function pullMemberAgentKubeconfig(fed: RestClient, names: MemberNames, server: string, caPem: string, file: string, labels: Record<string, string> = {}): Promise<string> {
  for (const obj of [pullNamespaceObject(names), agentAccount(names), agentRole(names), agentRoleBinding(names), pullClusterObject(names, labels)]) await applyObject(fed, obj);
  const { token } = await requestToken(fed, pullNamespace(names.cluster), AGENT_ACCOUNT, 3600);
  writeFileSync(file, kubeconfigText({ name: names.federation, server, caCert: caPem, token }), { mode: 0o600 });
  return token;
}
