// The pod runner's scheduling, as kube-scheduler would place the federation's pods: anti-affinity
// by host name, a local volume's node, nodeSelector, and the least-loaded node otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { chooseNode, type SchedulingView } from '../podrunner/scheduler.ts';

const node = (name: string, ready = true, labels: Record<string, string> = {}): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

let uid = 0;
const pod = (app: string, nodeName?: string, extra: Partial<V1Pod['spec']> = {}): V1Pod => ({
  metadata: { name: `${app}-${++uid}`, namespace: 'fed', uid: String(uid), labels: { app } },
  spec: { containers: [], ...(nodeName ? { nodeName } : {}), ...extra },
  status: { phase: 'Running' },
});

const antiAffinity = (app: string, required: boolean): Partial<V1Pod['spec']> => {
  const term = { labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' };
  return {
    affinity: {
      podAntiAffinity: required
        ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
        : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
    },
  };
};

const view = (pods: V1Pod[], nodes = [node('a'), node('b'), node('c')], claims: V1PersistentVolumeClaim[] = [], volumes: V1PersistentVolume[] = []): SchedulingView => ({ nodes, pods, claims, volumes });

test('required anti-affinity spreads, and leaves a fourth replica pending on three nodes', () => {
  const placed = [pod('etcd', 'a', antiAffinity('etcd', true)), pod('etcd', 'b', antiAffinity('etcd', true))];
  assert.equal(chooseNode(pod('etcd', undefined, antiAffinity('etcd', true)), view(placed)), 'c');
  placed.push(pod('etcd', 'c'));
  assert.equal(chooseNode(pod('etcd', undefined, antiAffinity('etcd', true)), view(placed)), undefined);
});

test('preferred anti-affinity picks a free node, and shares one only when none is free', () => {
  const other = [pod('x', 'c'), pod('x', 'c')];
  // b and c are both free of apiservers; c runs more pods.
  assert.equal(chooseNode(pod('api', undefined, antiAffinity('api', false)), view([...other, pod('api', 'a')])), 'b');
  assert.equal(chooseNode(pod('api', undefined, antiAffinity('api', false)), view([pod('api', 'a'), pod('api', 'b'), pod('api', 'c'), pod('x', 'a')])), 'b');
});

test('a not-Ready node, and a nodeSelector the node lacks, are never chosen', () => {
  assert.equal(chooseNode(pod('p'), view([], [node('a', false), node('b')])), 'b');
  assert.equal(chooseNode(pod('p', undefined, { nodeSelector: { disk: 'ssd' } }), view([], [node('a'), node('b', true, { disk: 'ssd' })])), 'b');
  assert.equal(chooseNode(pod('p', undefined, { nodeSelector: { disk: 'ssd' } }), view([], [node('a')])), undefined);
});

test("a claim bound to a local volume keeps its pod on the volume's node", () => {
  const claim: V1PersistentVolumeClaim = { metadata: { name: 'data-etcd-0', namespace: 'fed' }, spec: { volumeName: 'local-1' } };
  const volume: V1PersistentVolume = {
    metadata: { name: 'local-1' },
    spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['c'] }] }] } } },
  };
  const p = pod('etcd', undefined, { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-etcd-0' } }] });
  assert.equal(chooseNode(p, view([pod('x', 'a')], undefined, [claim], [volume])), 'c');
  // Its node gone: the pod waits, as it would for a local volume.
  assert.equal(chooseNode(p, view([], [node('a'), node('b'), node('c', false)], [claim], [volume])), undefined);
});

test('terminating and finished pods free their node', () => {
  const gone = pod('etcd', 'a');
  gone.metadata!.deletionTimestamp = new Date();
  const done = pod('etcd', 'b');
  done.status = { phase: 'Succeeded' };
  assert.equal(chooseNode(pod('etcd', undefined, antiAffinity('etcd', true)), view([gone, done], [node('a'), node('b')])), 'a');
});
