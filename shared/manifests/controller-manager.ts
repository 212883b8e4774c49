// The federation controller manager in the host cluster: its identity there (a ServiceAccount with
// no rights and no token mounted: it talks only to the federation and the members, so nothing it
// runs can read the host's Secrets, the CA key among them), its code, and its Deployment.
import { gzipSync } from 'node:zlib';
import type { V1ConfigMap, V1Deployment, V1ServiceAccount } from '@kubernetes/client-node';
import { CONTROLLER_MANAGER_CODE_CONFIGMAP, CONTROLLER_MANAGER_KUBECONFIG_SECRET, CONTROLLER_MANAGER_NAME } from '../constants.ts';
import type { InitConfig } from './config.ts';
import { podPlacement, spread } from './placement.ts';
import { digest } from './credentials.ts';
import { applyArgOverrides, federationLabels, metadata, selectorLabels } from './meta.ts';
import { CONTROLLER_MANAGER_POD_USER, resourceRequirements, restrictedContainerSecurity, restrictedPodSecurity, SECRET_FILE_MODE } from './pod-security.ts';
import type { Typed } from './types.ts';

const KUBECONFIG_DIR = '/etc/federation/controller-manager';
export const CODE_DIR = '/opt/federation/controller-manager';
export const CODE_FILE = 'controller-manager.cjs';
export const CONTROLLER_HEALTHZ_PORT = 8080;
/**
 * How Node runs the controller manager: a small young generation and few malloc arenas keep a
 * thousand members' probes well inside 150 MB (see `make bench`), at a little CPU; the old
 * generation grows by 30% between full collections, not V8's default of up to several times:
 * measured 2026-12-08, 5,000 members 313 MB instead of 413-471 MB, idle with the propagation
 * bench's objects 218 MB instead of 378 MB, CPU within the run-to-run noise.
 */
export const CONTROLLER_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=30'];
export const CONTROLLER_ENV = { MALLOC_ARENA_MAX: '2' };

/** Room left for metadata under the 1 MiB an object may have in etcd. */
const CONFIGMAP_LIMIT = 900 * 1024;

export function controllerManagerServiceAccount(cfg: InitConfig): Typed<V1ServiceAccount> {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(CONTROLLER_MANAGER_NAME, cfg.name, CONTROLLER_MANAGER_NAME, cfg.namespace),
    automountServiceAccountToken: false,
  };
}

export interface ShippedCode {
  configMap: Typed<V1ConfigMap>;
  /** The container command that runs the shipped code with the stock Node.js image. */
  command: string[];
  digest: string;
}

/**
 * Ships the bundled controller manager in a ConfigMap, so the stock Node.js image can run it: no
 * image of our own to build, publish or mirror. Gzipped when it would not fit as plain text.
 */
export function controllerManagerCode(cfg: InitConfig, bundle: Buffer): ShippedCode {
  return shippedCode(metadata(CONTROLLER_MANAGER_CODE_CONFIGMAP, cfg.name, CONTROLLER_MANAGER_NAME, cfg.namespace), bundle);
}

/** The bundle in a ConfigMap of that metadata, and the command that runs it from CODE_DIR (a pull member's agent runs the same code). */
export function shippedCode(meta: { name: string; namespace?: string; labels?: Record<string, string> }, bundle: Buffer): ShippedCode {
  const path = `${CODE_DIR}/${CODE_FILE}`;
  if (bundle.length <= CONFIGMAP_LIMIT) {
    return {
      configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { [CODE_FILE]: bundle.toString() } },
      command: ['node', ...CONTROLLER_NODE_FLAGS, path],
      digest: digest(bundle.toString('latin1')),
    };
  }
  const gz = gzipSync(bundle, { level: 9 });
  if (gz.length > CONFIGMAP_LIMIT) {
    throw new Error(`the controller manager bundle is ${gz.length} bytes gzipped: too large for a ConfigMap`);
  }
  // Unzips and runs the code as the module it is, with process.argv as if node ran the file.
  const loader =
    `const f=${JSON.stringify(`${path}.gz`)},M=require('module'),m=new M(f);m.filename=f;` +
    `m.paths=M._nodeModulePaths(${JSON.stringify(CODE_DIR)});process.argv.splice(1,0,f);` +
    `m._compile(require('zlib').gunzipSync(require('fs').readFileSync(f)).toString(),f)`;
  return {
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, binaryData: { [`${CODE_FILE}.gz`]: gz.toString('base64') } },
    command: ['node', ...CONTROLLER_NODE_FLAGS, '-e', loader],
    digest: digest(gz.toString('latin1')),
  };
}

export function controllerManagerArgs(cfg: InitConfig): string[] {
  return applyArgOverrides(
    [
      `--kubeconfig=${KUBECONFIG_DIR}/kubeconfig`,
      `--federation-namespace=${cfg.namespace}`,
      `--federation-name=${cfg.name}`,
      `--healthz-port=${CONTROLLER_HEALTHZ_PORT}`,
    ],
    cfg.controllerManagerArgOverrides,
  );
}

export function controllerManagerDeployment(
  cfg: InitConfig,
  code: ShippedCode | undefined,
  kubeconfigDigest: string,
): Typed<V1Deployment> {
  const probe = { httpGet: { path: '/healthz', port: CONTROLLER_HEALTHZ_PORT }, periodSeconds: 10, timeoutSeconds: 5 };
  const volumeMounts = [{ name: 'kubeconfig', mountPath: KUBECONFIG_DIR, readOnly: true }];
  const volumes: NonNullable<NonNullable<V1Deployment['spec']>['template']['spec']>['volumes'] = [
    { name: 'kubeconfig', secret: { secretName: CONTROLLER_MANAGER_KUBECONFIG_SECRET, defaultMode: SECRET_FILE_MODE } },
  ];
  if (code) {
    volumeMounts.push({ name: 'code', mountPath: CODE_DIR, readOnly: true });
    volumes.push({ name: 'code', configMap: { name: CONTROLLER_MANAGER_CODE_CONFIGMAP } });
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(CONTROLLER_MANAGER_NAME, cfg.name, CONTROLLER_MANAGER_NAME, cfg.namespace),
    spec: {
      // Leader election makes more replicas safe: with --ha a standby takes over within a lease's
      // time. None while a restore runs: it would propagate the objects under the new plane's identity.
      replicas: cfg.restoring ? 0 : cfg.ha ? 2 : 1,
      selector: { matchLabels: selectorLabels(cfg.name, CONTROLLER_MANAGER_NAME) },
      template: {
        metadata: {
          labels: federationLabels(cfg.name, CONTROLLER_MANAGER_NAME),
          annotations: {
            'federation.kubectl-federation.io/code-digest': code?.digest ?? '',
            'federation.kubectl-federation.io/kubeconfig-digest': kubeconfigDigest,
          },
        },
        spec: {
          serviceAccountName: CONTROLLER_MANAGER_NAME,
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurity(CONTROLLER_MANAGER_POD_USER),
          containers: [
            {
              name: CONTROLLER_MANAGER_NAME,
              image: cfg.images.controllerManager ?? cfg.images.node,
              imagePullPolicy: cfg.images.pullPolicy,
              // A prebuilt image (--controller-manager-image) brings its own entrypoint.
              ...(code ? { command: code.command } : {}),
              args: controllerManagerArgs(cfg),
              env: [
                ...Object.entries(CONTROLLER_ENV).map(([name, value]) => ({ name, value })),
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              ports: [{ name: 'healthz', containerPort: CONTROLLER_HEALTHZ_PORT, protocol: 'TCP' }],
              terminationMessagePolicy: 'FallbackToLogsOnError',
              readinessProbe: probe,
              livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 3 },
              resources: resourceRequirements(cfg.resources.controllerManager),
              securityContext: restrictedContainerSecurity([], true),
              volumeMounts,
            },
          ],
          volumes,
          ...(cfg.ha ? { affinity: spread(cfg, CONTROLLER_MANAGER_NAME) } : {}),
          ...podPlacement(cfg),
        },
      },
    },
  };
}
