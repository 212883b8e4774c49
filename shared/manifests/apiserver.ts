// The federation API server: one pod with an etcd container and a stock kube-apiserver container.
import type { V1Container, V1Deployment, V1Volume } from '@kubernetes/client-node';
import { APISERVER_CONTAINER_PORT, APISERVER_NAME, CREDENTIALS_SECRET, ETCD_CLAIM, ETCD_CLIENT_SECRET } from '../constants.ts';
import type { InitConfig } from './config.ts';
import { CREDENTIAL_KEYS, digest, ETCD_CLIENT_KEYS } from './credentials.ts';
import { etcdClientURLs, etcdCluster } from './etcd.ts';
import { applyArgOverrides, federationLabels, metadata, selectorLabels } from './meta.ts';
import { podPlacement, spread } from './placement.ts';
import { APISERVER_POD_USER, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, SECRET_FILE_MODE } from './pod-security.ts';
import type { Typed } from './types.ts';

export const APISERVER_CERT_DIR = '/etc/federation/apiserver';
const ETCD_CLIENT_DIR = '/etc/federation/etcd';
const ETCD_DATA_DIR = '/var/etcd/data';
const LOCAL_ETCD = 'http://127.0.0.1:2379';

export function apiserverArgs(cfg: InitConfig): string[] {
  const file = (key: string) => `${APISERVER_CERT_DIR}/${key}`;
  const k = CREDENTIAL_KEYS;
  const args = [
    `--bind-address=0.0.0.0`,
    `--secure-port=${APISERVER_CONTAINER_PORT}`,
    `--advertise-address=$(POD_IP)`,
    // The federation's own `kubernetes` Service would point at this pod, which no workload uses:
    // nothing runs in a federation. Skipping its reconciler saves a write loop.
    `--endpoint-reconciler-type=none`,
    `--etcd-servers=${(cfg.etcd.servers ?? (etcdCluster(cfg) ? etcdClientURLs(cfg) : [LOCAL_ETCD])).join(',')}`,
    `--client-ca-file=${file(k.caCert)}`,
    `--tls-cert-file=${file(k.serverCert)}`,
    `--tls-private-key-file=${file(k.serverKey)}`,
    `--service-account-key-file=${file(k.serviceAccountPub)}`,
    `--service-account-signing-key-file=${file(k.serviceAccountKey)}`,
    `--service-account-issuer=https://${APISERVER_NAME}.${cfg.namespace}.svc`,
    // The federation runs no workloads: its service range only has to exist.
    `--service-cluster-ip-range=10.0.0.0/24`,
    `--authorization-mode=RBAC`,
    // Join tokens of pull members (kubectl federation token create): bootstrap-token Secrets in
    // kube-system, checked by the API server itself, each bound to one cluster's join by RBAC.
    `--enable-bootstrap-token-auth=true`,
    // A Service's externalIPs would reach every member unchanged (CVE-2020-8554: whoever may write
    // a Service could take over traffic to any address); the federation refuses them at the door.
    `--enable-admission-plugins=DenyServiceExternalIPs`,
    `--profiling=false`,
  ];
  if (cfg.tokenAuth) args.push(`--token-auth-file=${file(k.tokens)}`);
  if (etcdCluster(cfg)) args.push(`--etcd-cafile=${file(k.etcdCaCert)}`, `--etcd-certfile=${file(k.etcdClientCert)}`, `--etcd-keyfile=${file(k.etcdClientKey)}`);
  if (cfg.apiserverReplicas > 1) {
    // A replica that is told to stop first fails /readyz and keeps serving for a while, so the
    // Service stops sending it requests before it stops answering them (a rolling upgrade loses none).
    args.push('--shutdown-delay-duration=5s', '--shutdown-send-retry-after=true');
  }
  const tls = cfg.etcd.tls;
  if (tls?.ca) args.push(`--etcd-cafile=${ETCD_CLIENT_DIR}/${ETCD_CLIENT_KEYS.ca}`);
  if (tls?.cert) args.push(`--etcd-certfile=${ETCD_CLIENT_DIR}/${ETCD_CLIENT_KEYS.cert}`, `--etcd-keyfile=${ETCD_CLIENT_DIR}/${ETCD_CLIENT_KEYS.key}`);
  return applyArgOverrides(args, cfg.apiserverArgOverrides);
}

function etcdContainer(cfg: InitConfig): V1Container {
  return {
    name: 'etcd',
    image: cfg.images.etcd,
    imagePullPolicy: cfg.images.pullPolicy,
    command: [
      'etcd',
      `--name=federation`,
      `--data-dir=${ETCD_DATA_DIR}`,
      `--listen-client-urls=${LOCAL_ETCD}`,
      `--advertise-client-urls=${LOCAL_ETCD}`,
      // Peers are local to the pod: this etcd is a single member.
      `--listen-peer-urls=http://127.0.0.1:2380`,
      `--initial-advertise-peer-urls=http://127.0.0.1:2380`,
      `--initial-cluster=federation=http://127.0.0.1:2380`,
    ],
    volumeMounts: [{ name: 'etcd-data', mountPath: '/var/etcd' }],
    // A crash's last log lines in the pod's status, where init's wait reads them.
    terminationMessagePolicy: 'FallbackToLogsOnError',
    resources: resourceRequirements(cfg.resources.etcd),
    securityContext: restrictedContainerSecurity(),
  };
}

function apiserverContainer(cfg: InitConfig): V1Container {
  const probe = (path: string, failureThreshold: number) => ({
    httpGet: { path, port: APISERVER_CONTAINER_PORT, scheme: 'HTTPS' },
    periodSeconds: 5,
    timeoutSeconds: 5,
    failureThreshold,
  });
  return {
    name: APISERVER_NAME,
    image: cfg.images.apiserver,
    imagePullPolicy: cfg.images.pullPolicy,
    command: ['kube-apiserver', ...apiserverArgs(cfg)],
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ports: [{ name: 'https', containerPort: APISERVER_CONTAINER_PORT, protocol: 'TCP' }],
    readinessProbe: probe('/readyz', 3),
    // Generous: etcd on a fresh volume and the first start of the API server take a while.
    livenessProbe: { ...probe('/livez', 8), initialDelaySeconds: 15 },
    volumeMounts: [
      { name: 'credentials', mountPath: APISERVER_CERT_DIR, readOnly: true },
      ...(cfg.etcd.tls ? [{ name: 'etcd-client', mountPath: ETCD_CLIENT_DIR, readOnly: true }] : []),
    ],
    resources: resourceRequirements(cfg.resources.apiserver),
    securityContext: restrictedContainerSecurity(['NET_BIND_SERVICE']),
  };
}

/** credentialsDigest changes when the mounted credentials do, so the pod restarts to load them. */
export function apiserverDeployment(cfg: InitConfig, credentialsDigest: string): Typed<V1Deployment> {
  const k = CREDENTIAL_KEYS;
  const mounted: string[] = [k.caCert, k.serverCert, k.serverKey, k.serviceAccountKey, k.serviceAccountPub];
  if (cfg.tokenAuth) mounted.push(k.tokens);
  if (etcdCluster(cfg)) mounted.push(k.etcdCaCert, k.etcdClientCert, k.etcdClientKey);
  const volumes: V1Volume[] = [
    { name: 'credentials', secret: { secretName: CREDENTIALS_SECRET, defaultMode: SECRET_FILE_MODE, items: mounted.map((key) => ({ key, path: key })) } },
  ];
  if (cfg.etcd.tls) volumes.push({ name: 'etcd-client', secret: { secretName: ETCD_CLIENT_SECRET, defaultMode: SECRET_FILE_MODE } });
  const containers = [apiserverContainer(cfg)];
  if (!cfg.etcd.servers && !etcdCluster(cfg)) {
    containers.unshift(etcdContainer(cfg));
    volumes.push(
      cfg.etcd.persistentStorage
        ? { name: 'etcd-data', persistentVolumeClaim: { claimName: ETCD_CLAIM } }
        : { name: 'etcd-data', emptyDir: {} },
    );
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(APISERVER_NAME, cfg.name, APISERVER_NAME, cfg.namespace),
    spec: {
      replicas: cfg.apiserverReplicas,
      // Two API servers must never share one etcd volume; replicas of a shared etcd roll one at a
      // time, the new one ready before an old one stops.
      strategy: cfg.ha ? { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } : { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(cfg.name, APISERVER_NAME) },
      template: {
        metadata: {
          labels: federationLabels(cfg.name, APISERVER_NAME),
          annotations: {
            'federation.kubectl-federation.io/credentials-digest': credentialsDigest,
            // New external-etcd credentials restart the pod too (certs renew leaves these alone).
            ...(cfg.etcd.tls ? { 'federation.kubectl-federation.io/etcd-client-digest': digest(cfg.etcd.tls.ca, cfg.etcd.tls.cert, cfg.etcd.tls.key) } : {}),
          },
        },
        spec: {
          containers,
          volumes,
          // Nothing in this pod talks to the host's API server: no token for it to lose.
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurity(APISERVER_POD_USER),
          ...(cfg.apiserverReplicas > 1 ? { affinity: spread(cfg, APISERVER_NAME) } : {}),
          ...podPlacement(cfg),
        },
      },
    },
  };
}
