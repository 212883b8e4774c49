// `init`'s flags, checked and turned into an InitConfig. Everything here is pure: the tests call it
// directly, and a bad value is reported before anything talks to a cluster.
import { APISERVER_IMAGE, DEFAULT_FEDERATION_NAME, DEFAULT_NAMESPACE, ETCD_IMAGE, NODE_IMAGE } from '../constants.ts';
import { parseDuration } from '../duration.ts';
import { validateDNSLabel } from '../names.ts';
import { InputError } from '../errors.ts';
import { parseBool, parseCIDR, parseIP, parseKeyValues, parseList, parseOneOf, parsePort, parseResources, validateQuantity } from '../flags.ts';
import { parseArgOverrides } from '../manifests/meta.ts';
import type { InitConfig } from '../manifests/config.ts';
import { DEFAULT_RESOURCES } from '../manifests/pod-security.ts';
import { DEFAULT_ENCRYPTION_ALGORITHM, ENCRYPTION_ALGORITHMS } from '../pki.ts';

export interface InitFlags {
  name?: string;
  hostContext: string;
  namespace?: string;
  serviceType?: string;
  apiServerPort?: string;
  advertiseAddress?: string;
  extraSans?: string[];
  serviceAnnotations?: string[];
  loadBalancerSourceRanges?: string[];
  tokenAuth?: string | boolean;
  basicAuth?: string | boolean;
  etcdPersistentStorage?: string | boolean;
  etcdPvCapacity?: string;
  etcdPvStorageClass?: string;
  etcdServers?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  imageRegistry?: string;
  image?: string;
  etcdImage?: string;
  nodeImage?: string;
  controllerManagerImage?: string;
  apiserverResources?: string;
  etcdResources?: string;
  controllerManagerResources?: string;
  imagePullPolicy?: string;
  imagePullSecrets?: string[];
  nodeSelector?: string[];
  apiserverArgOverrides?: string;
  controllerManagerArgOverrides?: string;
  waitTimeout?: string;
  certValidity?: string;
  encryptionAlgorithm?: string;
  switchContext?: string | boolean;
  join?: string | boolean;
  ha?: string | boolean;
  apiserverReplicas?: string;
}

export function initConfigFromFlags(f: InitFlags): InitConfig {
  const name = validateDNSLabel(f.name ?? DEFAULT_FEDERATION_NAME, 'federation name');
  const namespace = validateDNSLabel(f.namespace ?? DEFAULT_NAMESPACE, '--federation-system-namespace');
  if (parseBool(f.basicAuth, '--apiserver-enable-basic-auth', false)) {
    throw new InputError(
      '--apiserver-enable-basic-auth: Kubernetes removed basic authentication in 1.19; use --apiserver-enable-token-auth or the client certificate init writes to your kubeconfig',
    );
  }
  const serviceType = parseOneOf(f.serviceType ?? 'LoadBalancer', ['LoadBalancer', 'NodePort'] as const, '--api-server-service-type');
  if (serviceType !== 'NodePort') {
    if (f.advertiseAddress !== undefined) {
      throw new InputError('--api-server-advertise-address works only with --api-server-service-type=NodePort');
    }
    if (f.apiServerPort !== undefined) {
      throw new InputError('--api-server-port works only with --api-server-service-type=NodePort');
    }
  }
  const overrides = (text: string | undefined, flag: string) => {
    const parsed = parseArgOverrides(text ?? '', flag);
    if (typeof parsed === 'string') throw new InputError(parsed);
    return parsed;
  };
  const etcdServers = parseList(f.etcdServers);
  for (const s of etcdServers) {
    if (!/^https?:\/\/[^/]+/.test(s)) throw new InputError(`--etcd-servers: "${s}" is not a URL such as http://etcd-0:2379`);
  }
  const tlsFiles = etcdTLSFiles(f, etcdServers);
  if (serviceType !== 'LoadBalancer' && (f.serviceAnnotations?.length || f.loadBalancerSourceRanges?.length)) {
    throw new InputError('--api-server-service-annotations and --api-server-load-balancer-source-ranges work only with --api-server-service-type=LoadBalancer');
  }
  const registry = f.imageRegistry?.replace(/\/+$/, '');
  if (registry !== undefined && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry)) {
    throw new InputError(`--image-registry: "${f.imageRegistry}" is not a registry such as registry.example.com or registry.example.com:5000/k8s`);
  }
  // As kubeadm's imageRepository: the registry replaces everything before the image's last name.
  const mirrored = (image: string) => (registry ? `${registry}/${image.slice(image.lastIndexOf('/') + 1)}` : image);
  const cfg: InitConfig = {
    name,
    namespace,
    hostContext: f.hostContext,
    serviceType,
    extraSans: parseList(f.extraSans),
    serviceAnnotations: parseKeyValues(f.serviceAnnotations, '--api-server-service-annotations'),
    loadBalancerSourceRanges: parseList(f.loadBalancerSourceRanges).map((r) => parseCIDR(r, '--api-server-load-balancer-source-ranges')),
    tokenAuth: parseBool(f.tokenAuth, '--apiserver-enable-token-auth', false),
    ...replicas(f),
    etcd: {
      persistentStorage: parseBool(f.etcdPersistentStorage, '--etcd-persistent-storage', true),
      capacity: validateQuantity(f.etcdPvCapacity ?? '10Gi', '--etcd-pv-capacity'),
      ...(f.etcdPvStorageClass ? { storageClass: f.etcdPvStorageClass } : {}),
      ...(etcdServers.length > 0 ? { servers: etcdServers } : {}),
      ...(tlsFiles ? { tlsFiles } : {}),
    },
    images: {
      apiserver: f.image ?? mirrored(APISERVER_IMAGE),
      etcd: f.etcdImage ?? mirrored(ETCD_IMAGE),
      node: f.nodeImage ?? mirrored(NODE_IMAGE),
      ...(f.controllerManagerImage ? { controllerManager: f.controllerManagerImage } : {}),
      pullPolicy: parseOneOf(f.imagePullPolicy ?? 'IfNotPresent', ['Always', 'IfNotPresent', 'Never'] as const, '--image-pull-policy'),
      pullSecrets: parseList(f.imagePullSecrets),
    },
    resources: {
      apiserver: parseResources(f.apiserverResources, '--apiserver-resources', DEFAULT_RESOURCES.apiserver),
      etcd: parseResources(f.etcdResources, '--etcd-resources', DEFAULT_RESOURCES.etcd),
      controllerManager: parseResources(f.controllerManagerResources, '--controller-manager-resources', DEFAULT_RESOURCES.controllerManager),
    },
    // Linux images: a mixed cluster must not schedule them onto Windows nodes.
    nodeSelector: { 'kubernetes.io/os': 'linux', ...parseKeyValues(f.nodeSelector, '--node-selector') },
    apiserverArgOverrides: overrides(f.apiserverArgOverrides, '--apiserver-arg-overrides'),
    controllerManagerArgOverrides: overrides(f.controllerManagerArgOverrides, '--controllermanager-arg-overrides'),
    waitTimeoutMs: parseDuration(f.waitTimeout ?? '5m', '--wait-timeout'),
    certValidityMs: parseDuration(f.certValidity ?? '8760h', '--cert-validity'),
    encryptionAlgorithm: parseOneOf(f.encryptionAlgorithm ?? DEFAULT_ENCRYPTION_ALGORITHM, ENCRYPTION_ALGORITHMS, '--encryption-algorithm'),
    switchContext: parseBool(f.switchContext, '--switch-context', true),
    join: parseBool(f.join, '--join', false),
  };
  if (f.nodeImage !== undefined && f.controllerManagerImage !== undefined) {
    throw new InputError('--node-image and --controller-manager-image exclude each other: --node-image runs the shipped code on a (mirrored) Node.js image, --controller-manager-image is a prebuilt image with its own entrypoint');
  }
  if (cfg.ha && !cfg.etcd.persistentStorage && !cfg.etcd.servers) {
    throw new InputError('--ha needs --etcd-persistent-storage: an etcd member that loses its data at a restart cannot rejoin its cluster; drop --etcd-persistent-storage=false');
  }
  if (f.advertiseAddress !== undefined) cfg.advertiseAddress = parseIP(f.advertiseAddress, '--api-server-advertise-address');
  if (f.apiServerPort !== undefined) cfg.nodePort = parsePort(f.apiServerPort, '--api-server-port');
  return cfg;
}

/** --ha and --apiserver-replicas: two API servers by default with --ha, one without (its etcd is in its pod). */
function replicas(f: InitFlags): Pick<InitConfig, 'ha' | 'apiserverReplicas'> {
  const ha = parseBool(f.ha, '--ha', false);
  if (f.apiserverReplicas === undefined) return { ha, apiserverReplicas: ha ? 2 : 1 };
  const n = Number(f.apiserverReplicas);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new InputError(`--apiserver-replicas: "${f.apiserverReplicas}" is not a number from 1 to 9`);
  if (n > 1 && !ha) throw new InputError('--apiserver-replicas above 1 needs --ha: without it each API server pod holds its own etcd');
  if (n < 2 && ha) throw new InputError('--ha runs at least 2 API servers: drop --apiserver-replicas=1, or drop --ha');
  return { ha, apiserverReplicas: n };
}

/** --etcd-cafile/-certfile/-keyfile: only with --etcd-servers, certificate and key together. */
function etcdTLSFiles(f: InitFlags, servers: string[]): NonNullable<InitConfig['etcd']['tlsFiles']> | undefined {
  const files = { ca: f.etcdCafile, cert: f.etcdCertfile, key: f.etcdKeyfile };
  if (!files.ca && !files.cert && !files.key) return undefined;
  if (servers.length === 0) throw new InputError('--etcd-cafile, --etcd-certfile and --etcd-keyfile are for an external etcd: add --etcd-servers=https://HOST:2379');
  if (Boolean(files.cert) !== Boolean(files.key)) throw new InputError('--etcd-certfile and --etcd-keyfile go together: give both, or neither');
  const plain = servers.find((s) => s.startsWith('http://'));
  if (plain) throw new InputError(`--etcd-servers: "${plain}" is plain http, but TLS files were given: use https://`);
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v));
}
