// `kubectl federation status`: one screen about one federation, and an exit code that says whether
// it is healthy. It repairs nothing: each problem names the command that would.
import {
  APISERVER_IMAGE,
  CREDENTIALS_SECRET,
  ETCD_IMAGE,
  ETCD_NAME,
  FEDERATION_API_VERSION,
  FEDERATION_LABEL,
  MANAGED_BY,
} from '../constants.ts';
import { type CertificateExpiry, etcdExpiry, expiry } from '../certs/certs.ts';
import { errorMessage } from '../errors.ts';
import { findFederationContext } from '../federation-context.ts';
import type { Kubeconfig } from '../kubeconfig.ts';
import { credentialsFor } from '../kube/credentials.ts';
import { collectionPath } from '../kube/resources.ts';
import type { RestClient } from '../kube/rest.ts';
import { clientFor } from '../join/contexts.ts';
import type { Cluster } from '../manifests/federation-api.ts';
import { CREDENTIAL_KEYS } from '../manifests/credentials.ts';
import { CONTROLLER_HEALTHZ_PORT } from '../manifests/controller-manager.ts';
import { ETCD_MEMBERS } from '../manifests/etcd.ts';

export interface PodStatus {
  name: string;
  component: string;
  phase: string;
  ready: string;
  restarts: number;
  images: string[];
  /** The node it runs on: replicas of one component on one node are lost together. */
  node: string;
}

export type CertificateStatus = CertificateExpiry;

export interface MemberStatus {
  name: string;
  ready: string;
  reason?: string;
  /** When the controller manager last wrote the member's status (at a change, or every few minutes). */
  lastProbeTime?: string;
  /** When the controller manager last probed the member, from the controller itself. */
  lastProbe?: string;
}

export interface FederationStatus {
  federation: string;
  context: string;
  endpoint: string;
  hostContext: string;
  namespace: string;
  apiServerReady: boolean;
  pods: PodStatus[];
  certificates: CertificateStatus[];
  members: MemberStatus[];
  /** Each: what is wrong, and the command that fixes it. */
  problems: string[];
  healthy: boolean;
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { containers: { image: string }[]; nodeName?: string };
    status?: { phase?: string; containerStatuses?: { ready: boolean; restartCount: number; state?: { waiting?: { reason?: string } } }[] };
  }[];
}

/** Certificates this close to expiry are a problem worth a line. */
const WARN_DAYS = 30;

export async function federationStatus(kc: Kubeconfig, name: string | undefined, requestTimeoutMs: number): Promise<FederationStatus> {
  const { context, ext } = findFederationContext(kc, name);
  const fedCtx = kc.resolve(context);
  const problems: string[] = [];
  const repair = `re-run \`kubectl federation init ${ext.federation} --host-cluster-context=${ext.hostContext}${ext.namespace !== 'federation-system' ? ` --federation-system-namespace=${ext.namespace}` : ''}\`: it repairs a half-installed or broken control plane`;
  const now = Date.now();
  let host: RestClient | undefined;
  let federation: RestClient | undefined;
  const status: FederationStatus = {
    federation: ext.federation,
    context,
    endpoint: fedCtx.cluster.server,
    hostContext: ext.hostContext,
    namespace: ext.namespace,
    apiServerReady: false,
    pods: [],
    certificates: [],
    members: [],
    problems,
    healthy: false,
  };
  try {
    host = await clientFor(kc.resolve(ext.hostContext, '--host-cluster-context'), requestTimeoutMs);
    federation = await clientFor(fedCtx, requestTimeoutMs);
    const selector = `app.kubernetes.io/managed-by=${MANAGED_BY},${FEDERATION_LABEL}=${ext.federation}`;
    try {
      const pods = await host.get<PodList>(`/api/v1/namespaces/${encodeURIComponent(ext.namespace)}/pods`, { query: { labelSelector: selector } });
      status.pods = pods.items.map((p) => ({
        name: p.metadata.name,
        component: p.metadata.labels?.['app.kubernetes.io/component'] ?? '',
        // As kubectl's STATUS column: a deleted pod still running its containers is Terminating.
        phase: p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Unknown'),
        ready: `${(p.status?.containerStatuses ?? []).filter((c) => c.ready).length}/${p.spec.containers.length}`,
        restarts: (p.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0),
        images: p.spec.containers.map((c) => c.image),
        node: p.spec.nodeName ?? '',
      }));
      // Every pod counts, not the first of each component: while a deleted pod terminates (still
      // Running, its containers still ready) its replacement may be Pending, and that is the problem.
      // etcd has pods of its own with init --ha (a StatefulSet); else it is a container of the API server's.
      const components = ['apiserver', 'controller-manager', ...(status.pods.some((p) => p.component === ETCD_NAME) ? [ETCD_NAME] : [])];
      for (const component of components) {
        const pods = status.pods.filter((p) => p.component === component);
        const live = pods.filter((p) => p.phase !== 'Terminating');
        if (live.length === 0) {
          const going = pods.map((p) => p.name).join(', ');
          problems.push(`no ${component} pod in namespace ${ext.namespace} of the host cluster${going ? ` (terminating: ${going})` : ''}: ${repair}`);
        }
        for (const pod of live) {
          if (pod.phase !== 'Running' || pod.ready.split('/')[0] !== pod.ready.split('/')[1]) {
            problems.push(`pod ${pod.name} is ${pod.phase}, ${pod.ready} containers ready: see kubectl --context=${ext.hostContext} -n ${ext.namespace} describe pod ${pod.name}`);
          }
        }
      }
      const members = status.pods.filter((p) => p.component === ETCD_NAME && p.phase !== 'Terminating').length;
      if (components.includes(ETCD_NAME) && members < ETCD_MEMBERS) {
        problems.push(`etcd has ${members} of ${ETCD_MEMBERS} member pods: it keeps a quorum with ${ETCD_MEMBERS - 1}, not with fewer; see kubectl --context=${ext.hostContext} -n ${ext.namespace} describe statefulset ${ETCD_NAME}`);
      }
      const images = new Set(status.pods.flatMap((p) => p.images));
      for (const [want, what] of [[APISERVER_IMAGE, 'kube-apiserver'], [ETCD_IMAGE, 'etcd']] as const) {
        const running = [...images].find((i) => i.split(':')[0] === want.split(':')[0]);
        if (running && running !== want) problems.push(`${what} runs ${running}, this plugin deploys ${want}: re-run kubectl federation init ${ext.federation} to upgrade`);
      }
      const secret = await host.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(ext.namespace)}/secrets/${CREDENTIALS_SECRET}`);
      const pem = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], 'base64') : undefined);
      const k = CREDENTIAL_KEYS;
      const client = await credentialsFor(fedCtx, async () => undefined);
      status.certificates = [
        expiry('ca', pem(k.caCert), '', now),
        expiry('apiserver', pem(k.serverCert), 'ca', now),
        expiry('controller-manager', pem(k.controllerManagerCert), 'ca', now),
        expiry('admin (kubeconfig)', client.cert, 'ca', now),
        ...etcdExpiry(Object.fromEntries(Object.keys(secret?.data ?? {}).map((key) => [key, pem(key)])), now),
      ].filter((c): c is CertificateStatus => c !== undefined);
      if (!secret) problems.push(`Secret ${ext.namespace}/${CREDENTIALS_SECRET} is missing from the host cluster: ${repair}`);
      for (const c of status.certificates) {
        if (c.daysLeft < 0) problems.push(`certificate ${c.name} expired on ${c.expires}: kubectl federation certs renew --federation=${ext.federation}`);
        else if (c.daysLeft < WARN_DAYS) problems.push(`certificate ${c.name} expires in ${c.daysLeft} days (${c.expires}): kubectl federation certs renew --federation=${ext.federation}`);
      }
    } catch (err) {
      problems.push(`cannot read the control plane in the host cluster (context "${ext.hostContext}"): ${errorMessage(err)}`);
    }
    try {
      const ready = await federation.probe('/readyz', Math.min(requestTimeoutMs, 5000));
      status.apiServerReady = ready.status === 200 && ready.body.trim() === 'ok';
      if (!status.apiServerReady) problems.push(`the federation API server is not ready (/readyz: ${ready.status} ${ready.body.trim().split('\n')[0]}): ${repair}`);
    } catch (err) {
      problems.push(`the federation API server at ${fedCtx.cluster.server} does not answer (${errorMessage(err)}): ${repair}`);
    }
    if (status.apiServerReady) {
      // The API server may go between the probe and this: that is a problem to report, not a crash.
      const clusters = await federation.get<{ items: Cluster[] }>(collectionPath(FEDERATION_API_VERSION, 'Cluster')).catch((err: unknown) => {
        problems.push(`listing the members failed (${errorMessage(err)}): ${repair}`);
        return { items: [] as Cluster[] };
      });
      status.members = clusters.items.map((c) => {
        const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
        return { name: c.metadata.name, ready: ready?.status ?? 'Unknown', ...(ready?.reason ? { reason: ready.reason } : {}), ...(ready?.lastProbeTime ? { lastProbeTime: ready.lastProbeTime } : {}) };
      });
      if (host) {
        const probed = await lastProbes(host, ext.namespace, status.pods);
        for (const m of status.members) if (probed[m.name]) m.lastProbe = probed[m.name];
      }
      for (const m of status.members.filter((x) => x.ready !== 'True')) {
        const cluster = clusters.items.find((c) => c.metadata.name === m.name);
        const message = cluster?.status?.conditions?.find((x) => x.type === 'Ready')?.message;
        problems.push(`member ${m.name} is not Ready (${m.reason ?? 'no probe yet'}${message ? `: ${message}` : ''}): ${memberFix(m, cluster, ext.hostContext)}`);
      }
      // A re-run init upgrades what it reaches; a pull member's agent is upgraded from the member.
      for (const c of clusters.items) {
        const agent = c.status?.agent;
        if (agent?.current === false) {
          problems.push(
            `the agent of member ${c.metadata.name} runs ${agent.version} (code ${agent.codeDigest}), not the code of this federation's controller manager: upgrade it from the member's side: kubectl federation token create ${c.metadata.name}, then run the join command it prints against the member`,
          );
        }
      }
    }
  } finally {
    host?.close();
    federation?.close();
  }
  status.healthy = problems.length === 0;
  return status;
}

/**
 * When the controller manager last probed each member, asked of the controller itself (its /probes,
 * through the host's pod proxy); the leader answers, a standby has none. Empty when it cannot be
 * asked: the Cluster's lastProbeTime is then shown instead.
 */
async function lastProbes(host: RestClient, namespace: string, pods: PodStatus[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const pod of pods.filter((p) => p.component === 'controller-manager' && p.phase === 'Running')) {
    const answer = await host
      .get<Record<string, { at?: string }>>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(`${pod.name}:${CONTROLLER_HEALTHZ_PORT}`)}/proxy/probes`, { timeoutMs: 3000 })
      .catch(() => ({}));
    for (const [member, p] of Object.entries(answer)) if (p.at && (!found[member] || p.at > found[member])) found[member] = p.at;
  }
  return found;
}

/** The fix for a member that is not Ready, by what its probes found. */
function memberFix(m: MemberStatus, cluster: Cluster | undefined, hostContext: string): string {
  const server = cluster?.spec?.serverAddressByClientCIDRs?.[0]?.serverAddress ?? '(its address)';
  const see = `see kubectl get cluster ${m.name} -o yaml`;
  switch (m.reason) {
    case 'ClusterNotReachable':
      return `the controller manager cannot reach ${server}: check that the member's API server is up and reachable from the pods of the host cluster (context ${hostContext}); if the address is wrong, join it again with --cluster-server=https://ADDRESS:PORT; ${see}`;
    case 'ClusterNotReady':
      return `its API server answers but is not ready: look at the member itself (kubectl --context=CONTEXT get --raw /readyz?verbose); ${see}`;
    case 'Unauthorized':
    case 'SecretMissing':
      return `its credentials are missing or refused: kubectl federation join ${m.name} renews them; ${see}`;
    case 'InvalidSpec':
      return `its Cluster object is not valid: kubectl federation join ${m.name} writes it again; ${see}`;
    default:
      return `${see}; kubectl federation join ${m.name} renews its credentials`;
  }
}

const ago = (time: string | undefined, now: number) => {
  if (!time) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(time)) / 1000));
  return s < 120 ? `${s}s ago` : `${Math.round(s / 60)}m ago`;
};

/** The human screen. */
export function formatStatus(s: FederationStatus, now = Date.now()): string {
  const table = (rows: string[][]) => {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()}`).join('\n');
  };
  const lines = [
    `Federation ${s.federation} (context ${s.context}): ${s.healthy ? 'healthy' : 'NOT HEALTHY'}`,
    `Endpoint: ${s.endpoint} (API server ${s.apiServerReady ? 'ready' : 'not ready'})`,
    `Host: context ${s.hostContext}, namespace ${s.namespace}`,
    '',
    'Control plane:',
    s.pods.length > 0 ? table([['POD', 'READY', 'STATUS', 'RESTARTS', 'NODE', 'IMAGES'], ...s.pods.map((p) => [p.name, p.ready, p.phase, String(p.restarts), p.node || '<none>', p.images.join(', ')])]) : '  (no pods)',
    '',
    'Certificates:',
    s.certificates.length > 0 ? table([['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME'], ...s.certificates.map((c) => [c.name, c.expires.slice(0, 10), `${c.daysLeft}d`])]) : '  (none found)',
    '',
    'Members:',
    s.members.length > 0 ? table([['NAME', 'READY', 'REASON', 'LAST PROBE'], ...s.members.map((m) => [m.name, m.ready, m.reason ?? '', m.lastProbe ? ago(m.lastProbe, now) : `${ago(m.lastProbeTime, now)}${m.lastProbeTime ? ' (reported)' : ''}`])]) : '  (none joined)',
  ];
  if (s.problems.length > 0) lines.push('', 'Problems:', ...s.problems.map((p) => `  - ${p}`));
  return `${lines.join('\n')}\n`;
}
