// Who may do what in the federation beyond RBAC, as admission policies init installs into the
// federation API server (ValidatingAdmissionPolicy: GA since Kubernetes 1.30, and the federation's
// API server is the version init deploys). RBAC says who may write an object; these say who may
// decide where it goes and which Clusters the federation trusts.
import type { V1ClusterRole, V1ClusterRoleBinding, V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { FEDERATION_GROUP } from '../constants.ts';
import { ANNOTATIONS } from '../propagation/annotations.ts';
import { ADMIN_GROUP } from './credentials.ts';
import { clusterRoleBinding, CONTROLLER_MANAGER_USER } from './federation-api.ts';
import { metadata } from './meta.ts';
import type { Typed } from './types.ts';

/** May set where objects go (placement, scheduling, weights) and adopt members' objects. */
export const PLACEMENT_ADMINS_GROUP = 'kubectl-federation:placement-admins';
/** May label Clusters (what placement selects by), and nothing else of them. */
export const CLUSTER_LABELERS_GROUP = 'kubectl-federation:cluster-labelers';
const CLUSTER_LABELER_ROLE = 'kubectl-federation:cluster-labeler';

/** The annotations that decide where an object goes, or take over members' objects. */
export const PLACEMENT_ANNOTATIONS = [ANNOTATIONS.clusterSelector, ANNOTATIONS.replicaScheduling, ANNOTATIONS.replicaWeights, ANNOTATIONS.adopt];

export const PLACEMENT_POLICY = 'kubectl-federation-placement';
export const CLUSTERS_POLICY = 'kubectl-federation-clusters';

const inGroups = (groups: string[]) => `request.userInfo.groups.exists(g, g in [${groups.map((g) => `'${g}'`).join(', ')}])`;
const annotation = (obj: string, key: string) => `(${obj} != null && has(${obj}.metadata.annotations) && '${key}' in ${obj}.metadata.annotations ? ${obj}.metadata.annotations['${key}'] : '')`;

/**
 * Placement rights: only placement admins (the admins' group is one) set or change the placement
 * annotations; everyone else's objects follow their namespace's placement. (An object's own
 * selector only narrows its namespace's anyway: the controller places by both.)
 */
export function placementPolicy(federation: string): Typed<V1ValidatingAdmissionPolicy> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(PLACEMENT_POLICY, federation),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE'] }] },
      matchConditions: [
        { name: 'not-a-placement-admin', expression: `!${inGroups(['system:masters', ADMIN_GROUP, PLACEMENT_ADMINS_GROUP])} && request.userInfo.username != '${CONTROLLER_MANAGER_USER}'` },
      ],
      validations: PLACEMENT_ANNOTATIONS.map((key) => ({
        expression: `${annotation('object', key)} == ${annotation('oldObject', key)}`,
        message: `only placement admins (group ${PLACEMENT_ADMINS_GROUP}, or ${ADMIN_GROUP}) set or change ${key}: leave it out and the object follows its namespace's placement, or ask an admin`,
      })),
    },
  };
}

/** Clusters: their spec (where the federation sends a member's token) only by admins; labels by labelers too. */
export function clustersPolicy(federation: string): Typed<V1ValidatingAdmissionPolicy> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(CLUSTERS_POLICY, federation),
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: [FEDERATION_GROUP], apiVersions: ['*'], resources: ['clusters'], operations: ['CREATE', 'UPDATE', 'DELETE'] }] },
      matchConditions: [{ name: 'not-an-admin', expression: `!${inGroups(['system:masters', ADMIN_GROUP])}` }],
      validations: [
        {
          expression: `request.operation == 'UPDATE' && object.spec == oldObject.spec && (has(object.metadata.annotations) ? object.metadata.annotations : {}) == (has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {})`,
          message: `only the federation's admins (group ${ADMIN_GROUP}) join, unjoin or change a Cluster's spec (its server and credentials); cluster labelers (group ${CLUSTER_LABELERS_GROUP}) change its labels only`,
        },
      ],
    },
  };
}

const bindingFor = (federation: string, policy: string): Typed<V1ValidatingAdmissionPolicyBinding> => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: metadata(policy, federation),
  spec: { policyName: policy, validationActions: ['Deny'] },
});

/** Labelling Clusters: what `kubectl label cluster` needs, given to the labelers' group. */
export function clusterLabelerRole(federation: string): Typed<V1ClusterRole> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: metadata(CLUSTER_LABELER_ROLE, federation),
    rules: [{ apiGroups: [FEDERATION_GROUP], resources: ['clusters'], verbs: ['get', 'list', 'watch', 'patch', 'update'] }],
  };
}

export function clusterLabelerBinding(federation: string): Typed<V1ClusterRoleBinding> {
  return clusterRoleBinding(federation, CLUSTER_LABELER_ROLE, CLUSTER_LABELER_ROLE, { kind: 'Group', name: CLUSTER_LABELERS_GROUP });
}

/**
 * The federation's own kinds in the aggregated roles, as a CRD's author would give them: whoever may
 * edit a namespace may write its Overrides (they change only that namespace's objects) and read its
 * Propagation records; view reads both. The controller manager fills edit, admin and view.
 */
export function aggregatedRoles(federation: string): Typed<V1ClusterRole>[] {
  const role = (name: string, to: string[], verbs: string[], resources: string[]): Typed<V1ClusterRole> => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { ...metadata(name, federation), labels: { ...metadata(name, federation).labels, ...Object.fromEntries(to.map((t) => [`rbac.authorization.k8s.io/aggregate-to-${t}`, 'true'])) } },
    rules: [{ apiGroups: [FEDERATION_GROUP], resources, verbs }],
  });
  return [
    role('kubectl-federation:aggregate-to-edit', ['admin', 'edit'], ['create', 'update', 'patch', 'delete', 'deletecollection'], ['overrides']),
    role('kubectl-federation:aggregate-to-view', ['admin', 'edit', 'view'], ['get', 'list', 'watch'], ['overrides', 'propagations']),
  ];
}

/** Everything of who-may-do-what init installs into the federation, policies before their bindings. */
export function federationPolicies(federation: string) {
  return [
    placementPolicy(federation),
    bindingFor(federation, PLACEMENT_POLICY),
    clustersPolicy(federation),
    bindingFor(federation, CLUSTERS_POLICY),
    clusterLabelerRole(federation),
    clusterLabelerBinding(federation),
    ...aggregatedRoles(federation),
  ];
}
