import type { V1Service } from '@kubernetes/client-node';
import { APISERVER_CONTAINER_PORT, APISERVER_NAME } from '../constants.ts';
import { type InitConfig, RESTORING_ANNOTATION } from './config.ts';
import { metadata, selectorLabels } from './meta.ts';
import type { Typed } from './types.ts';

/** The federation API server's endpoint: port 443 of the Service to 8443 of the pod. */
export function apiserverService(cfg: InitConfig): Typed<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...metadata(APISERVER_NAME, cfg.name, APISERVER_NAME, cfg.namespace),
      // e.g. an internal load balancer: networking.gke.io/load-balancer-type=Internal,
      // service.beta.kubernetes.io/aws-load-balancer-scheme=internal,
      // service.beta.kubernetes.io/azure-load-balancer-internal=true.
      ...(Object.keys(cfg.serviceAnnotations).length > 0 || cfg.restoring
        ? { annotations: { ...cfg.serviceAnnotations, ...(cfg.restoring ? { [RESTORING_ANNOTATION]: cfg.restoring } : {}) } }
        : {}),
    },
    spec: {
      type: cfg.serviceType,
      ...(cfg.loadBalancerSourceRanges.length > 0 ? { loadBalancerSourceRanges: cfg.loadBalancerSourceRanges } : {}),
      selector: selectorLabels(cfg.name, APISERVER_NAME),
      ports: [
        {
          name: 'https',
          protocol: 'TCP',
          port: 443,
          targetPort: APISERVER_CONTAINER_PORT,
          ...(cfg.serviceType === 'NodePort' && cfg.nodePort !== undefined ? { nodePort: cfg.nodePort } : {}),
        },
      ],
    },
  };
}

/** Every name the API server answers to inside the host cluster. */
export function serviceDNSNames(namespace: string): string[] {
  return [
    APISERVER_NAME,
    `${APISERVER_NAME}.${namespace}`,
    `${APISERVER_NAME}.${namespace}.svc`,
    `${APISERVER_NAME}.${namespace}.svc.cluster.local`,
  ];
}
