// `init`'s flags, checked and turned into an InitConfig. Everything here is pure: the tests call it
// directly, and a bad value is reported before anything talks to a cluster.
import { APISERVER_IMAGE, DEFAULT_FEDERATION_NAME, DEFAULT_NAMESPACE, ETCD_IMAGE } from '../constants.ts';
import { parseDuration } from '../duration.ts';
import { validateDNSLabel } from '../names.ts';
import { InputError } from '../errors.ts';
import { parseBool, parseIP, parseKeyValues, parseList, parseOneOf, parsePort, validateQuantity } from '../flags.ts';
import { parseArgOverrides } from '../manifests/meta.ts';
import type { InitConfig } from '../manifests/config.ts';

export interface InitFlags {
  name?: string;
  hostContext: string;
  namespace?: string;
  serviceType?: string;
  apiServerPort?: string;
  advertiseAddress?: string;
  extraSans?: string[];
  tokenAuth?: string | boolean;
  basicAuth?: string | boolean;
  etcdPersistentStorage?: string | boolean;
  etcdPvCapacity?: string;
  etcdPvStorageClass?: string;
  etcdServers?: string;
  image?: string;
  etcdImage?: string;
  controllerManagerImage?: string;
  imagePullPolicy?: string;
  imagePullSecrets?: string[];
  nodeSelector?: string[];
  apiserverArgOverrides?: string;
  controllerManagerArgOverrides?: string;
  waitTimeout?: string;
  certValidity?: string;
  switchContext?: string | boolean;
  join?: string | boolean;
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
  const cfg: InitConfig = {
    name,
    namespace,
    hostContext: f.hostContext,
    serviceType,
    extraSans: parseList(f.extraSans),
    tokenAuth: parseBool(f.tokenAuth, '--apiserver-enable-token-auth', false),
    etcd: {
      persistentStorage: parseBool(f.etcdPersistentStorage, '--etcd-persistent-storage', true),
      capacity: validateQuantity(f.etcdPvCapacity ?? '10Gi', '--etcd-pv-capacity'),
      ...(f.etcdPvStorageClass ? { storageClass: f.etcdPvStorageClass } : {}),
      ...(etcdServers.length > 0 ? { servers: etcdServers } : {}),
    },
    images: {
      apiserver: f.image ?? APISERVER_IMAGE,
      etcd: f.etcdImage ?? ETCD_IMAGE,
      ...(f.controllerManagerImage ? { controllerManager: f.controllerManagerImage } : {}),
      pullPolicy: parseOneOf(f.imagePullPolicy ?? 'IfNotPresent', ['Always', 'IfNotPresent', 'Never'] as const, '--image-pull-policy'),
      pullSecrets: parseList(f.imagePullSecrets),
    },
    nodeSelector: parseKeyValues(f.nodeSelector, '--node-selector'),
    apiserverArgOverrides: overrides(f.apiserverArgOverrides, '--apiserver-arg-overrides'),
    controllerManagerArgOverrides: overrides(f.controllerManagerArgOverrides, '--controllermanager-arg-overrides'),
    waitTimeoutMs: parseDuration(f.waitTimeout ?? '5m', '--wait-timeout'),
    certValidityMs: parseDuration(f.certValidity ?? '8760h', '--cert-validity'),
    switchContext: parseBool(f.switchContext, '--switch-context', true),
    join: parseBool(f.join, '--join', false),
  };
  if (f.advertiseAddress !== undefined) cfg.advertiseAddress = parseIP(f.advertiseAddress, '--api-server-advertise-address');
  if (f.apiServerPort !== undefined) cfg.nodePort = parsePort(f.apiServerPort, '--api-server-port');
  return cfg;
}
