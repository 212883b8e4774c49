// What init installs into the federation API server itself: the Cluster resource and the
// controller manager's permissions there.
import type { V1ClusterRole, V1ClusterRoleBinding, V1CustomResourceDefinition, V1JSONSchemaProps, V1Namespace } from '@kubernetes/client-node';
import { FEDERATION_GROUP, FEDERATION_VERSION } from '../constants.ts';
import { ADMIN_GROUP } from './credentials.ts';
import { metadata } from './meta.ts';
import { overrideCRD } from './override-api.ts';
import type { Typed } from './types.ts';

export interface ClusterCondition {
  type: 'Ready' | 'Offline';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

/** A member cluster, as the federation API serves it. */
export interface Cluster {
  apiVersion: string;
  kind: 'Cluster';
  metadata: { name: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string; managedFields?: unknown };
  spec: {
    /** Push (default): the controller manager calls the member. Pull: the member's agent calls the federation. */
    mode?: 'Push' | 'Pull';
    /** Required in Push mode (the controller manager checks it); a Pull member has none. */
    serverAddressByClientCIDRs?: { clientCIDR: string; serverAddress: string }[];
    secretRef?: { name: string };
  };
  status?: { conditions?: ClusterCondition[]; zones?: string[]; region?: string; agent?: AgentStatus };
}

/** The user the controller manager's client certificate names (its common name). */
export const CONTROLLER_MANAGER_USER = 'federation-controller-manager';
const CONTROLLER_MANAGER_ROLE = 'kubectl-federation:controller-manager';

const condition = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string', description: 'Ready or Offline.' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', description: 'A CamelCase word for why the condition has its status.' },
    message: { type: 'string', description: 'What a person needs to know about it.' },
    lastProbeTime: { type: 'string', format: 'date-time' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
  },
};

export function clusterCRD(federation: string): Typed<V1CustomResourceDefinition> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: metadata(`clusters.${FEDERATION_GROUP}`, federation),
    spec: {
      group: FEDERATION_GROUP,
      scope: 'Cluster',
      names: { plural: 'clusters', singular: 'cluster', kind: 'Cluster', listKind: 'ClusterList', categories: ['federation'] },
      versions: [
        {
          name: FEDERATION_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
            { name: 'Server', type: 'string', jsonPath: '.spec.serverAddressByClientCIDRs[0].serverAddress' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A member cluster of the federation.',
              required: ['spec'],
              properties: {
                spec: {
                  type: 'object',
                  // A push member needs an address; a pull member has none (its agent calls in).
                  // (Spread: the client's type has no x-kubernetes-validations.)
                  ...({
                    'x-kubernetes-validations': [
                      { rule: "(has(self.mode) && self.mode == 'Pull') || (has(self.serverAddressByClientCIDRs) && size(self.serverAddressByClientCIDRs) > 0)", message: 'spec.serverAddressByClientCIDRs is required unless spec.mode is Pull' },
                    ],
                  } as object),
                  properties: {
                    // client-node's type names enum _enum (its serializer's spelling); the API's is enum.
                    mode: { type: 'string', enum: ['Push', 'Pull'], default: 'Push', description: 'Push: the controller manager calls the member. Pull: an agent in the member calls the federation (private clusters).' } as V1JSONSchemaProps,
                    serverAddressByClientCIDRs: {
                      type: 'array',
                      minItems: 1,
                      description: 'Where clients in each network reach the cluster; 0.0.0.0/0 for everyone.',
                      items: {
                        type: 'object',
                        required: ['clientCIDR', 'serverAddress'],
                        properties: {
                          clientCIDR: { type: 'string', minLength: 1 },
                          serverAddress: { type: 'string', minLength: 1 },
                        },
                      },
                    },
                    secretRef: {
                      type: 'object',
                      description: "The Secret with the cluster's credentials, in the host cluster's federation namespace.",
                      required: ['name'],
                      properties: { name: { type: 'string', minLength: 1 } },
                    },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    // client-node's type spells the x-kubernetes-* fields in camelCase; the wire
                    // (and this object, which is sent as it is) uses the API's own names.
                    conditions: {
                      type: 'array',
                      items: condition,
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['type'],
                    } as V1JSONSchemaProps,
                    zones: { type: 'array', items: { type: 'string' } },
                    region: { type: 'string' },
                    agent: {
                      type: 'object',
                      description: "A pull member's agent: its release, the digest of its code, and whether that is the controller manager's.",
                      properties: { version: { type: 'string' }, codeDigest: { type: 'string' }, current: { type: 'boolean' } },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** A pull member's agent as its heartbeat says, beside the controller manager's own code. */
export interface AgentStatus {
  version: string;
  codeDigest: string;
  /** Runs the code the controller manager runs: false until it is upgraded from the member's side. */
  current: boolean;
}

/** What the controller manager reports of one propagated object: one per object, read-only for users. */
export interface Propagation {
  apiVersion: string;
  kind: 'Propagation';
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { resource: { apiVersion: string; kind: string; name: string; namespace?: string } };
  status: {
    /** "member-1,member-2": where it goes. */
    clusterNames: string;
    /** "2/2": members holding the current object, of those selected. */
    applied: string;
    /** "1/2": members where it is healthy (workloads available; other kinds: applied). */
    healthy: string;
    /** A dependency with no placement of its own: the workloads that use it, which placed it ("Deployment/web"). */
    placedBy?: string[];
    /** A workload's staged rollout. */
    rollout?: RolloutRecord;
    clusters: PropagationClusterStatus[];
    /**
     * Why nothing was propagated, with what to do: a bad placement annotation, a selector no Ready
     * cluster matches (naming the clusters and their labels), or a rule that keeps the object home.
     */
    message?: string;
  };
}

export interface PropagationClusterStatus {
  cluster: string;
  applied: boolean;
  healthy: boolean;
  replicas?: number;
  /** The member copy's generation and what its controller has observed of it. */
  generation?: number;
  observedGeneration?: number;
  /** The last error, one line with the fix. */
  error?: string;
  /** The member is not Ready: its share is kept for it until then (the grace period), then moves. */
  keptUntil?: string;
  /** The member did not answer now: the counts of its copy are last-known, and not summed. */
  reachable?: boolean;
  /** The Overrides that changed this member's copy, in the order applied. */
  overrides?: string[];
  /** A workload's revision (as `kubectl rollout history` numbers them) its copy runs. */
  revision?: number;
  /** Its stage in a staged rollout (1 is the first). */
  stage?: number;
  /** Why nothing was sent to it yet (a staged rollout has not reached its stage). */
  waiting?: string;
}

/** Where a staged rollout stands. */
export interface RolloutRecord {
  /** The federation's revision being rolled out. */
  revision: number;
  /** Progressing, Soaking, Paused, Halted or Complete. */
  phase: string;
  /** The stage it is in (1 is the first). */
  stage: number;
  stages: string[];
  message: string;
}

export function propagationCRD(federation: string): Typed<V1CustomResourceDefinition> {
  const str = { type: 'string' };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: metadata(`propagations.${FEDERATION_GROUP}`, federation),
    spec: {
      group: FEDERATION_GROUP,
      scope: 'Namespaced',
      names: { plural: 'propagations', singular: 'propagation', kind: 'Propagation', listKind: 'PropagationList', shortNames: ['prop'], categories: ['federation'] },
      versions: [
        {
          name: FEDERATION_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Kind', type: 'string', jsonPath: '.spec.resource.kind' },
            { name: 'Clusters', type: 'string', jsonPath: '.status.clusterNames' },
            { name: 'Applied', type: 'string', jsonPath: '.status.applied' },
            { name: 'Healthy', type: 'string', jsonPath: '.status.healthy' },
            { name: 'Rollout', type: 'string', jsonPath: '.status.rollout.phase', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: "Where one object of the federation was propagated, and how each member's copy is doing. Written by the controller manager; cluster-scoped objects' records live in the default namespace.",
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    resource: {
                      type: 'object',
                      properties: { apiVersion: str, kind: str, name: str, namespace: str },
                    },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    clusterNames: str,
                    applied: str,
                    healthy: str,
                    message: str,
                    placedBy: { type: 'array', items: str },
                    rollout: {
                      type: 'object',
                      properties: { revision: { type: 'integer' }, phase: str, stage: { type: 'integer' }, stages: { type: 'array', items: str }, message: str },
                    },
                    clusters: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          cluster: str,
                          applied: { type: 'boolean' },
                          healthy: { type: 'boolean' },
                          replicas: { type: 'integer' },
                          generation: { type: 'integer' },
                          observedGeneration: { type: 'integer' },
                          error: str,
                          keptUntil: { type: 'string', format: 'date-time' },
                          reachable: { type: 'boolean' },
                          overrides: { type: 'array', items: str },
                          revision: { type: 'integer' },
                          stage: { type: 'integer' },
                          waiting: str,
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

export function controllerManagerClusterRole(federation: string): Typed<V1ClusterRole> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: metadata(CONTROLLER_MANAGER_ROLE, federation),
    // Propagation reads every kind it propagates, holds them with a finalizer (patch), writes their
    // status, and empties terminating namespaces as Kubernetes' namespace controller would (the
    // federation runs none): that needs list and delete of whatever a namespace may hold.
    rules: [
      { apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch', 'patch', 'delete', 'deletecollection'] },
      { apiGroups: [''], resources: ['namespaces/finalize'], verbs: ['update'] },
      { apiGroups: [FEDERATION_GROUP], resources: ['clusters/status'], verbs: ['update'] },
      { apiGroups: [FEDERATION_GROUP], resources: ['propagations'], verbs: ['create', 'update'] },
      // The revision history of workloads, as the deployment, statefulset and daemonset controllers keep it.
      { apiGroups: ['apps'], resources: ['replicasets', 'controllerrevisions'], verbs: ['create', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'update'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create'] },
      // Pull members' carriers (rendered copies), made in each one's namespace: no wider than the
      // patch of every Secret the role holds already.
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      // Filling aggregated ClusterRoles (edit, view...) as kube-controller-manager's aggregation
      // controller does, with the same right: their rules are granted by whoever labels a source role.
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['escalate'] },
    ],
  };
}

/** A ClusterRoleBinding of the federation, named name, granting role to one user or group. */
export function clusterRoleBinding(federation: string, name: string, role: string, subject: { kind: 'User' | 'Group'; name: string }): Typed<V1ClusterRoleBinding> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: metadata(name, federation),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  };
}

export function controllerManagerClusterRoleBinding(federation: string): Typed<V1ClusterRoleBinding> {
  return clusterRoleBinding(federation, CONTROLLER_MANAGER_ROLE, CONTROLLER_MANAGER_ROLE, { kind: 'User', name: CONTROLLER_MANAGER_USER });
}

/** The administrators' group gets cluster-admin here: revocable, unlike system:masters. */
export function adminsClusterRoleBinding(federation: string): Typed<V1ClusterRoleBinding> {
  return clusterRoleBinding(federation, ADMIN_GROUP, 'cluster-admin', { kind: 'Group', name: ADMIN_GROUP });
}

/**
 * The federation namespace inside the federation: members' credential Secrets live here (join
 * writes them, the controller manager reads them), never propagated.
 */
export function membersNamespace(federation: string, namespace: string): Typed<V1Namespace> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: metadata(namespace, federation) };
}

/** Everything init installs into the federation, in order. */
export function federationAPIObjects(federation: string, namespace: string) {
  return [
    adminsClusterRoleBinding(federation),
    membersNamespace(federation, namespace),
    clusterCRD(federation),
    propagationCRD(federation),
    overrideCRD(federation),
    overrideCRD(federation, 'Cluster'),
    controllerManagerClusterRole(federation),
    controllerManagerClusterRoleBinding(federation),
  ];
}
