// What init's steps share: the validated configuration, the host cluster (live, or recording for
// --dry-run), and what earlier steps found out for later ones.
import type { Kubeconfig } from '../kubeconfig.ts';
import { proxyFor } from '../kube/proxy.ts';
import type { RestClient } from '../kube/rest.ts';
import type { Target } from '../kube/target.ts';
import type { FederationCredentials, StoredCredentials } from '../manifests/credentials.ts';
import type { Output } from '../output.ts';
import type { CertAndKey } from '../pki.ts';
import type { AddressWait } from './steps/expose-apiserver.ts';
import type { Restore } from './steps/restore-objects.ts';
import type { InitConfig } from '../manifests/config.ts';

export interface Endpoint {
  /** Address clients use: an IP or a host name. */
  host: string;
  port: number;
  url: string;
}

export interface InitData {
  readonly cfg: InitConfig;
  readonly host: Target;
  /** The host cluster's client; undefined in a dry run, which sends no request at all. */
  readonly hostClient: RestClient | undefined;
  readonly kubeconfig: Kubeconfig;
  readonly out: Output;
  readonly controllerBundle: () => Promise<Buffer>;
  readonly requestTimeoutMs: number;
  /** Milliseconds spent waiting on the clusters (load balancer, API server start). */
  waitedMs: number;
  /** Of the requests sent, those that polled while waiting (load balancer, API server, CRD). */
  waitRequests: number;
  /** Requests sent by clients other than the host's and the federation's (joining the host). */
  extraRequests: number;
  /** Changes made outside the two targets' applies (a Role retired, Secrets moved, the host joined): a re-run that makes none says nothing changed. */
  changes: number;

  endpoint?: Endpoint;
  /** The load balancer's other addresses: in the certificate too. */
  endpointAliases?: string[];
  /** A short-lived system:masters certificate, made only to grant the admin group its binding. */
  bootstrap?: CertAndKey;
  /** This run made the CA: the federation is new. */
  createdCA?: boolean;
  /** CA, client certificates and keys, made before the API server's address is known (and the serving certificate stored before). */
  clientCredentials?: StoredCredentials;
  /** All of them, with the serving certificate for the address (store-credentials). */
  credentials?: FederationCredentials;
  /** expose-apiserver's wait for the load balancer's address, which runs while the next steps do. */
  addressWait?: AddressWait;
  admin?: CertAndKey;
  /** The federation API server; a recording target in a dry run. */
  federation?: Target;
  federationClient?: RestClient;
  /** The namespace was there before this run: an earlier install may have left things to retire. */
  namespaceExisted?: boolean;
  /** An older install kept members' Secrets in the host: move them into the federation. */
  moveMemberSecrets?: boolean;
  /** The version change this run makes to a running federation ("kube-apiserver v1.36.9 -> v1.37.2"). */
  upgrade?: string;
  /** init --restore-from: the backup, and whether this run continues an interrupted restore of it. */
  restore?: Restore;
  /** The kubeconfig files update-kubeconfig wrote. */
  kubeconfigPaths?: string[];
}

/** The step's value, or an error naming the step that should have provided it (a bug). */
/**
 * The proxy init's own connections to the federation API server go through, as kubectl would pick
 * it for the context init writes: the proxy-url the user put on that cluster entry (kept by a
 * re-run), else the environment's HTTPS_PROXY unless NO_PROXY exempts the server.
 */
export function federationProxy(d: Pick<InitData, 'kubeconfig' | 'cfg'>, server: string): string | undefined {
  return proxyFor(server, d.kubeconfig.cluster(d.cfg.name)?.['proxy-url']);
}

export { need } from '../steps.ts';
