// Where init's pods may run and how they spread: the same for every component.
import type { V1Affinity, V1PodSpec } from '@kubernetes/client-node';
import type { InitConfig } from './config.ts';
import { selectorLabels } from './meta.ts';

export function podPlacement(cfg: InitConfig): Pick<V1PodSpec, 'nodeSelector' | 'imagePullSecrets'> {
  const placement: Pick<V1PodSpec, 'nodeSelector' | 'imagePullSecrets'> = {};
  if (Object.keys(cfg.nodeSelector).length > 0) placement.nodeSelector = cfg.nodeSelector;
  if (cfg.images.pullSecrets.length > 0) placement.imagePullSecrets = cfg.images.pullSecrets.map((name) => ({ name }));
  return placement;
}

/**
 * Replicas of one component avoid sharing a node while another node is free: a node's loss takes
 * one of them. Preferred, not required, so a one-node host still runs them all.
 */
export function spread(cfg: InitConfig, component: string): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: selectorLabels(cfg.name, component) }, topologyKey: 'kubernetes.io/hostname' } },
      ],
    },
  };
}
