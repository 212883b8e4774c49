// Upgrade by re-running init: a newer plugin's init moves the running federation to the versions it
// pins. kube-apiserver's own skew policy applies: one minor version at a time, never back (its
// storage may already be in a newer form). Checked before init writes anything.
import { APISERVER_NAME, ETCD_NAME } from '../constants.ts';
import { UserError } from '../errors.ts';
import type { RestClient } from '../kube/rest.ts';
import type { InitConfig } from '../manifests/config.ts';

interface Version {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** "registry.k8s.io/kube-apiserver:v1.37.2" -> 1.37.2; undefined for a tag that is no version. */
export function imageVersion(image: string): Version | undefined {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: tag } : undefined;
}

/** What the change from running to wanted is ("kube-apiserver v1.36.9 -> v1.37.2"), or why it is refused. */
export function apiserverChange(running: string, wanted: string, federation: string): string | undefined {
  if (running === wanted) return undefined;
  const from = imageVersion(running);
  const to = imageVersion(wanted);
  // A custom image without a version tag: the user's choice, applied as asked.
  if (!from || !to || from.major !== to.major) return `kube-apiserver ${running} -> ${wanted}`;
  const order = (v: Version) => v.minor * 1e6 + v.patch;
  if (order(to) < order(from)) {
    throw new UserError(
      `federation ${federation} runs kube-apiserver ${from.text}, newer than ${to.text} that this init would deploy: downgrades are not supported; use a kubectl-federation that deploys ${from.text} or later`,
    );
  }
  if (to.minor - from.minor > 1) {
    throw new UserError(
      `federation ${federation} runs kube-apiserver ${from.text}; ${to.text} is ${to.minor - from.minor} minor versions later, and kube-apiserver upgrades one minor version at a time: first run init with --image=registry.k8s.io/kube-apiserver:v${from.major}.${from.minor + 1}.<latest patch>`,
    );
  }
  return `kube-apiserver ${from.text} -> ${to.text}`;
}

type RunningContainer = { name: string; image?: string; command?: string[] };

/**
 * Whether the running plane's shape and the one asked for differ in a way init does not change in
 * place: one API server with etcd in its pod, or etcd's own cluster (--ha). A conversion would
 * move etcd's data between volumes under a running API server; a backup and a restore does it
 * with every step visible, and the members keep running meanwhile. The refusal says the commands.
 */
export function topologyChange(containers: RunningContainer[], cfg: InitConfig): void {
  const inPodEtcd = containers.some((c) => c.name === 'etcd');
  const etcdCluster = !inPodEtcd && containers.some((c) => c.command?.some((a) => a.startsWith(`--etcd-servers=https://${ETCD_NAME}-0.${ETCD_NAME}.`)));
  const steps = (ha: boolean) =>
    `kubectl federation backup ${cfg.name} -f ${cfg.name}.backup; kubectl federation deinit ${cfg.name} --keep-members --purge-data; kubectl federation init ${cfg.name}${ha ? ' --ha' : ''} --restore-from ${cfg.name}.backup (the members keep their copies and are recognised)`;
  if (inPodEtcd && cfg.ha && !cfg.etcd.servers) {
    throw new UserError(`federation ${cfg.name} runs one API server with etcd in its pod; init does not turn it into a highly available one in place: ${steps(true)}`);
  }
  if (etcdCluster && !cfg.ha) {
    throw new UserError(`federation ${cfg.name} is highly available (etcd as three members); init without --ha would not keep it so: re-run init with --ha, or to go back to one replica: ${steps(false)}`);
  }
}

/** The upgrade this init run makes to an existing federation, if any (throws when refused). */
export async function plannedUpgrade(host: RestClient, cfg: InitConfig): Promise<string | undefined> {
  const deployment = await host.find<{ spec?: { template?: { spec?: { containers?: RunningContainer[] } } } }>(
    `/apis/apps/v1/namespaces/${encodeURIComponent(cfg.namespace)}/deployments/${APISERVER_NAME}`,
  );
  const containers = deployment?.spec?.template?.spec?.containers ?? [];
  topologyChange(containers, cfg);
  const running = containers.find((c) => c.name === APISERVER_NAME)?.image;
  return running ? apiserverChange(running, cfg.images.apiserver, cfg.name) : undefined;
}
