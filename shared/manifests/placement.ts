// Where init's pods may run and how they spread: the same for every component.
import type { V1Affinity, V1PodDisruptionBudget, V1PodSpec } from '@kubernetes/client-node';
import type { InitConfig } from './config.ts';
import { metadata, selectorLabels } from './meta.ts';
import type { Typed } from './types.ts';

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

/** At most one replica of a component away at a time, by a drain or an eviction. */
export function disruptionBudget(cfg: InitConfig, component: string): Typed<V1PodDisruptionBudget> {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(component, cfg.name, component, cfg.namespace),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cfg.name, component) } },
  };
}
