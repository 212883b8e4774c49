// The rules that turn probes into conditions: damping, transition times, what counts as a change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leaseObservation } from '../../controller-manager/health.ts';
import { chooseServer } from '../../controller-manager/members.ts';
import { conditionsDiffer, conditionsFor, decide, type Observation, type Streak } from '../../controller-manager/status.ts';
import type { Cluster, ClusterCondition } from '../../shared/manifests/federation-api.ts';
import { AGENT_MESSAGE_ANNOTATION, AGENT_READY_ANNOTATION } from '../../shared/pull/names.ts';

const t = { success: 2, failure: 3 };
const ready: Observation = { kind: 'ready' };
const down: Observation = { kind: 'unreachable', message: 'cannot reach https://x: connection refused' };
const readyCondition: ClusterCondition = { type: 'Ready', status: 'True', reason: 'ClusterReady', lastTransitionTime: '2026-01-01T00:00:00Z' };
const notReadyCondition: ClusterCondition = { type: 'Ready', status: 'False', reason: 'ClusterNotReachable' };

describe('decide', () => {
  test('the first observation counts at once', () => {
    assert.deepEqual(decide(undefined, down, { successes: 0, failures: 0 }, t), down);
  });

  test('a Ready cluster stays Ready until `failure` failures in a row', () => {
    const streak: Streak = { successes: 0, failures: 0 };
    assert.equal(decide(readyCondition, down, streak, t), undefined);
    assert.equal(decide(readyCondition, down, streak, t), undefined);
    assert.deepEqual(decide(readyCondition, down, streak, t), down);
  });

  test('a success in between starts the count again', () => {
    const streak: Streak = { successes: 0, failures: 0 };
    decide(readyCondition, down, streak, t);
    decide(readyCondition, down, streak, t);
    decide(readyCondition, ready, streak, t);
    assert.equal(decide(readyCondition, down, streak, t), undefined);
  });

  test('failures less than a period apart (probes an event brought early) count once', () => {
    const streak: Streak = { successes: 0, failures: 0 };
    const at = (now: number) => ({ now, periodMs: 1000 });
    assert.equal(decide(readyCondition, down, streak, t, at(0)), undefined);
    for (const now of [10, 20, 500]) assert.equal(decide(readyCondition, down, streak, t, at(now)), undefined, `early probe at ${now} ms`);
    assert.equal(streak.failures, 1);
    assert.equal(decide(readyCondition, down, streak, t, at(1000)), undefined);
    // Three periods' failures: now it counts (a probe a little early, at 1950, is the next period's).
    assert.deepEqual(decide(readyCondition, down, streak, t, at(1950)), down);
  });

  test('a not-ready cluster needs `success` good probes', () => {
    const streak: Streak = { successes: 0, failures: 0 };
    assert.equal(decide(notReadyCondition, ready, streak, t), undefined);
    assert.deepEqual(decide(notReadyCondition, ready, streak, t), ready);
  });

  test('configuration problems are not damped', () => {
    const missing: Observation = { kind: 'secretMissing', message: 'no Secret' };
    assert.deepEqual(decide(readyCondition, missing, { successes: 0, failures: 0 }, t), missing);
  });
});

describe('conditions', () => {
  test('Ready and Offline with reasons; an unchanged status keeps its transition time', () => {
    const [r, o] = conditionsFor(down, [readyCondition], '2026-02-01T00:00:00Z');
    assert.equal(r?.status, 'False');
    assert.equal(r?.reason, 'ClusterNotReachable');
    assert.equal(r?.lastTransitionTime, '2026-02-01T00:00:00Z');
    assert.equal(o?.status, 'True');
    const again = conditionsFor(down, [r, o], '2026-02-01T00:00:10Z');
    assert.equal(again[0]?.lastTransitionTime, '2026-02-01T00:00:00Z');
    assert.equal(again[0]?.lastProbeTime, '2026-02-01T00:00:10Z');
    assert.equal(conditionsDiffer([r, o], again), false, 'only times differ');
    assert.equal(conditionsDiffer([r, o], conditionsFor(ready, [r, o], 'x')), true);
  });
});

describe('chooseServer', () => {
  const cluster = (entries: { clientCIDR: string; serverAddress: string }[]): Cluster => ({
    apiVersion: 'x',
    kind: 'Cluster',
    metadata: { name: 'c' },
    spec: { serverAddressByClientCIDRs: entries },
  });
  test('the most specific CIDR holding our address wins; 0.0.0.0/0 otherwise', () => {
    const c = cluster([
      { clientCIDR: '0.0.0.0/0', serverAddress: 'https://public' },
      { clientCIDR: '10.0.0.0/8', serverAddress: 'https://private' },
    ]);
    assert.equal(chooseServer(c, '10.1.2.3'), 'https://private');
    assert.equal(chooseServer(c, '192.168.1.1'), 'https://public');
    assert.equal(chooseServer(c, undefined), 'https://public');
  });
  test('a bad CIDR or address is an InvalidSpec observation, not an exception', () => {
    assert.deepEqual(chooseServer(cluster([{ clientCIDR: '10.0.0.0/33', serverAddress: 'https://x' }]), undefined), {
      kind: 'invalidSpec',
      message: 'spec.serverAddressByClientCIDRs[0].clientCIDR "10.0.0.0/33" is not a CIDR such as 0.0.0.0/0',
    });
    assert.equal((chooseServer(cluster([{ clientCIDR: '0.0.0.0/0', serverAddress: 'not a url' }]), undefined) as Observation).kind, 'invalidSpec');
  });
});

describe('leaseObservation: a pull member by its agent Lease', () => {
  const lease = (annotations: Record<string, string> = {}, leaseDurationSeconds?: number) => ({
    metadata: { annotations },
    // The agent's clock is an hour off: nothing here may read it.
    spec: { renewTime: '2020-01-01T00:00:00.000000Z', ...(leaseDurationSeconds ? { leaseDurationSeconds } : {}) },
  });
  test('no Lease: not ready, with the command that makes one', () => {
    const o = leaseObservation(undefined, 0, 0, 10_000, 'edge-1');
    assert.equal(o.kind, 'notReady');
    assert.match('message' in o ? o.message : '', /kubectl federation token create edge-1/);
  });
  test("a renewal stands for the Lease's own duration from when it was seen here, whatever the agent's clock says", () => {
    assert.equal(leaseObservation(lease({}, 25), 1_000_000, 1_024_000, 2000, 'edge-1').kind, 'ready');
    const late = leaseObservation(lease({}, 25), 1_000_000, 1_026_000, 2000, 'edge-1');
    assert.equal(late.kind, 'unreachable');
    assert.match('message' in late ? late.message : '', /the agent of cluster edge-1 last reported 26s ago/);
  });
  test("without a duration, two periods and a half of the controller's", () => {
    assert.equal(leaseObservation(lease(), 0, 25_000, 10_000, 'e').kind, 'ready');
    assert.equal(leaseObservation(lease(), 0, 25_001, 10_000, 'e').kind, 'unreachable');
  });
  test('the member not ready, as its agent says', () => {
    const o = leaseObservation(lease({ [AGENT_READY_ANNOTATION]: 'false', [AGENT_MESSAGE_ANNOTATION]: 'etcd down' }, 25), 0, 1000, 10_000, 'e');
    assert.deepEqual(o, { kind: 'notReady', message: 'the agent of cluster e reports: etcd down' });
  });
});
