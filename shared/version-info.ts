// What this plugin is and what it deploys: `kubectl federation version` and `--version`.
import { APISERVER_IMAGE, ETCD_IMAGE, ETCD_VERSION, KUBERNETES_VERSION, NODE_IMAGE } from './constants.ts';

declare const __VERSION__: string | undefined;
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export function versionInfo() {
  return {
    plugin: VERSION,
    kubernetes: KUBERNETES_VERSION,
    etcd: ETCD_VERSION,
    nodejs: process.versions.node,
    images: { apiserver: APISERVER_IMAGE, etcd: ETCD_IMAGE, controllerManager: NODE_IMAGE },
  };
}

export function versionText(): string {
  const info = versionInfo();
  return (
    `kubectl-federation ${info.plugin}\n` +
    `Deploys: kube-apiserver ${info.kubernetes}, etcd ${info.etcd}, controller manager on ${info.images.controllerManager}\n` +
    `Node.js: v${info.nodejs}\n`
  );
}
