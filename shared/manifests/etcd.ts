// init --ha: etcd as three members of one cluster, each in a pod of a StatefulSet with a volume of
// its own, found by the others under stable names of a headless Service, talking TLS both ways
// with certificates of etcd's own CA. What a kubeadm stacked-etcd control plane has, as pods.
import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { CREDENTIALS_SECRET, ETCD_NAME } from '../constants.ts';
import type { InitConfig } from './config.ts';
import { CREDENTIAL_KEYS } from './credentials.ts';
import { federationLabels, metadata, selectorLabels } from './meta.ts';
import { podPlacement, spread } from './placement.ts';
import { APISERVER_POD_USER, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, SECRET_FILE_MODE } from './pod-security.ts';
import type { Typed } from './types.ts';

export const ETCD_MEMBERS = 3;
export const ETCD_CLIENT_PORT = 2379;
const PEER_PORT = 2380;
/** Plain HTTP, health and metrics only: what the kubelet's probes reach (kubeadm's 2381). */
const METRICS_PORT = 2381;
const CERT_DIR = '/etc/federation/etcd';
const DATA_DIR = '/var/etcd/data';

const memberName = (i: number) => `${ETCD_NAME}-${i}`;
/** A member's name under the headless Service, as cluster DNS answers it in any cluster domain. */
const memberHost = (cfg: InitConfig, i: number) => `${memberName(i)}.${ETCD_NAME}.${cfg.namespace}.svc`;

/** Every name a member's certificate must hold (it serves clients and peers, and dials peers). */
export function etcdCertificateNames(cfg: InitConfig): string[] {
  const names = Array.from({ length: ETCD_MEMBERS }, (_, i) => memberHost(cfg, i));
  return [...names, ...names.map((n) => `${n}.cluster.local`), 'localhost', '127.0.0.1'];
}

/** What the API server's --etcd-servers lists: every member. */
export const etcdClientURLs = (cfg: InitConfig) => Array.from({ length: ETCD_MEMBERS }, (_, i) => `https://${memberHost(cfg, i)}:${ETCD_CLIENT_PORT}`);

/** Whether this init deploys etcd as a StatefulSet (--ha without --etcd-servers). */
export const etcdCluster = (cfg: InitConfig) => cfg.ha && cfg.etcd.servers === undefined;

/** The headless Service that gives each member its name; names exist before the pods are ready, as etcd's bootstrap needs. */
export function etcdService(cfg: InitConfig): Typed<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(ETCD_NAME, cfg.name, ETCD_NAME, cfg.namespace),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(cfg.name, ETCD_NAME),
      ports: [
        { name: 'client', port: ETCD_CLIENT_PORT, targetPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
        { name: 'peer', port: PEER_PORT, targetPort: PEER_PORT, protocol: 'TCP' },
      ],
    },
  };
}

export function etcdArgs(cfg: InitConfig): string[] {
  const file = (key: string) => `${CERT_DIR}/${key}`;
  const k = CREDENTIAL_KEYS;
  const self = `$(POD_NAME).${ETCD_NAME}.${cfg.namespace}.svc`;
  const cluster = Array.from({ length: ETCD_MEMBERS }, (_, i) => `${memberName(i)}=https://${memberHost(cfg, i)}:${PEER_PORT}`).join(',');
  return [
    'etcd',
    '--name=$(POD_NAME)',
    `--data-dir=${DATA_DIR}`,
    `--listen-client-urls=https://0.0.0.0:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls=https://${self}:${ETCD_CLIENT_PORT}`,
    `--listen-peer-urls=https://0.0.0.0:${PEER_PORT}`,
    `--initial-advertise-peer-urls=https://${self}:${PEER_PORT}`,
    `--initial-cluster=${cluster}`,
    // A member that restarts with its data ignores these; a fresh cluster is formed once.
    '--initial-cluster-state=new',
    `--initial-cluster-token=${cfg.name}`,
    `--listen-metrics-urls=http://0.0.0.0:${METRICS_PORT}`,
    '--client-cert-auth=true',
    `--trusted-ca-file=${file(k.etcdCaCert)}`,
    `--cert-file=${file(k.etcdPeerCert)}`,
    `--key-file=${file(k.etcdPeerKey)}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${file(k.etcdCaCert)}`,
    `--peer-cert-file=${file(k.etcdPeerCert)}`,
    `--peer-key-file=${file(k.etcdPeerKey)}`,
    // A restarted member catches up from a snapshot of the leader sooner.
    '--snapshot-count=10000',
  ];
}

/** credentialsDigest: of etcd's certificates; a renewal rolls the members one at a time. */
export function etcdStatefulSet(cfg: InitConfig, credentialsDigest: string): Typed<V1StatefulSet> {
  const k = CREDENTIAL_KEYS;
  const probe = (path: string, failureThreshold: number) => ({ httpGet: { path, port: METRICS_PORT }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(ETCD_NAME, cfg.name, ETCD_NAME, cfg.namespace),
    spec: {
      serviceName: ETCD_NAME,
      replicas: ETCD_MEMBERS,
      // All members at once: none is ready before a quorum is, so one at a time would never start.
      podManagementPolicy: 'Parallel',
      // A change (a renewal, an upgrade) replaces one member at a time, each Ready before the next.
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(cfg.name, ETCD_NAME) },
      template: {
        metadata: {
          labels: federationLabels(cfg.name, ETCD_NAME),
          annotations: { 'federation.kubectl-federation.io/credentials-digest': credentialsDigest },
        },
        spec: {
          containers: [
            {
              name: 'etcd',
              image: cfg.images.etcd,
              imagePullPolicy: cfg.images.pullPolicy,
              command: etcdArgs(cfg),
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: ETCD_CLIENT_PORT, protocol: 'TCP' },
                { name: 'peer', containerPort: PEER_PORT, protocol: 'TCP' },
              ],
              // Ready: the member serves linearizable reads (it is in a quorum).
              readinessProbe: probe('/readyz', 3),
              livenessProbe: { ...probe('/livez', 8), initialDelaySeconds: 15 },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [
                { name: 'data', mountPath: '/var/etcd' },
                { name: 'certs', mountPath: CERT_DIR, readOnly: true },
              ],
              resources: resourceRequirements(cfg.resources.etcd),
              securityContext: restrictedContainerSecurity(),
            },
          ],
          volumes: [
            {
              name: 'certs',
              secret: {
                secretName: CREDENTIALS_SECRET,
                defaultMode: SECRET_FILE_MODE,
                items: [k.etcdCaCert, k.etcdPeerCert, k.etcdPeerKey].map((key) => ({ key, path: key })),
              },
            },
          ],
          affinity: spread(cfg, ETCD_NAME),
          terminationGracePeriodSeconds: 30,
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurity(APISERVER_POD_USER),
          ...podPlacement(cfg),
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: federationLabels(cfg.name, ETCD_NAME) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: cfg.etcd.capacity } },
            ...(cfg.etcd.storageClass ? { storageClassName: cfg.etcd.storageClass } : {}),
          },
        },
      ],
      // deinit decides about the data (--purge-data); scaling never drops a member's volume.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  };
}
