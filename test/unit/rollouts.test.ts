// Staged rollouts and revision history as pure logic: the stages annotation, where a rollout stands
// for what the members run, and the history kubectl reads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import { hasRevisions, historyObject, planHistory, readHistory, replicaSetStatus, REVISION_ANNOTATION, templateHash } from '../../shared/propagation/revisions.ts';
import { advance, type MemberRollout, parseStages, rolledOut, rolloutFailed, stageOf, type Timeline } from '../../shared/propagation/stages.ts';

const tl = (target: string): Timeline => ({ target, opened: new Map(), done: new Map() });
const stages = parseStages('env=canary@1m; region=eu; *');
const m = (cluster: string, stage: number, revision: string | undefined, done: boolean, extra: Partial<MemberRollout> = {}): MemberRollout => ({ cluster, stage, ...(revision ? { revision } : {}), done, reachable: true, ...extra });

describe('rollout stages', () => {
  test('parsed in order with soak times; "*" takes the rest; bad input says what to write', () => {
    assert.deepEqual(stages.map((s) => [s.text, s.soakMs]), [['env=canary', 60_000], ['region=eu', 0], ['*', 0]]);
    assert.equal(stageOf(stages, { env: 'canary', region: 'eu' }), 0, 'the first stage that matches');
    assert.equal(stageOf(stages, { region: 'eu' }), 1);
    assert.equal(stageOf(stages, { region: 'us' }), 2);
    assert.equal(stageOf(parseStages('env=canary'), { region: 'us' }), 1, 'a cluster no stage matches comes after the last');
    assert.throws(() => parseStages('env=canary@soon'), /stage 1 "env=canary@soon".*duration.*write e\.g\./);
    assert.throws(() => parseStages('env in (a'), /stage 1/);
    assert.throws(() => parseStages(' ; '), /is empty/);
  });

  test('a new revision goes to the first stage only; the next opens once it is done and soaked', () => {
    const t = tl('new');
    const members = [m('a', 0, 'old', true), m('b', 1, 'old', true), m('c', 2, 'old', true)];
    let s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 1000 });
    assert.deepEqual([s.phase, s.open], ['Progressing', 0]);
    members[0] = m('a', 0, 'new', false);
    s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 2000 });
    assert.deepEqual([s.phase, s.open], ['Progressing', 0], 'rolled out but not yet available');
    members[0] = m('a', 0, 'new', true);
    s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 3000 });
    assert.deepEqual([s.phase, s.open, s.nextMs], ['Soaking', 0, 60_010]);
    s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 63_000 });
    assert.deepEqual([s.phase, s.open], ['Progressing', 1], 'soaked: the second stage receives it');
    members[1] = m('b', 1, 'new', true);
    s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 64_000 });
    assert.deepEqual([s.phase, s.open], ['Progressing', 2], 'no soak: the third at once');
    members[2] = m('c', 2, 'new', true);
    assert.equal(advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: t, now: 65_000 }).phase, 'Complete');
  });

  test('a member whose rollout failed halts the stage; later stages never open', () => {
    const members = [m('a', 0, 'new', false, { failed: 'ReplicaSet "web-1" has timed out progressing.' }), m('b', 1, 'old', true)];
    const s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: tl('new'), now: 0 });
    assert.equal(s.phase, 'Halted');
    assert.equal(s.open, 0);
    assert.match(s.message, /stage 1 of 3 \(env=canary\) halted: cluster a: ReplicaSet "web-1" has timed out/);
    // A failure of the old revision is not this rollout's.
    const old = advance({ stages, members: [m('a', 0, 'old', false, { failed: 'x' })], target: 'new', paused: false, deadlineMs: 600_000, timeline: tl('new'), now: 0 });
    assert.equal(old.phase, 'Progressing');
  });

  test('a stage not done within its deadline halts, naming the members; a member not Ready is waited for', () => {
    const t = tl('new');
    const members = [m('a', 0, 'new', true), m('b', 0, 'old', false, { reachable: false }), m('c', 1, 'old', true)];
    const s1 = advance({ stages, members, target: 'new', paused: false, deadlineMs: 10_000, timeline: t, now: 0 });
    assert.equal(s1.phase, 'Progressing');
    assert.match(s1.message, /waiting for b, not Ready/);
    const s2 = advance({ stages, members, target: 'new', paused: false, deadlineMs: 10_000, timeline: t, now: 10_001 });
    assert.equal(s2.phase, 'Halted');
    assert.match(s2.message, /not rolled out and available within 10s in b/);
  });

  test('paused: the next stage does not open, and no deadline runs; what was sent is never taken back', () => {
    const t = tl('new');
    const members = [m('a', 0, 'new', true), m('b', 1, 'old', true)];
    const p = advance({ stages: parseStages('env=canary; *'), members, target: 'new', paused: true, deadlineMs: 1, timeline: t, now: 0 });
    assert.deepEqual([p.phase, p.open], ['Paused', 0]);
    // Stage 2 already runs it (sent before a restart): it stays open though paused.
    const sent = advance({ stages: parseStages('env=canary; *'), members: [m('a', 0, 'new', false), m('b', 1, 'new', false)], target: 'new', paused: true, deadlineMs: 1, timeline: tl('new'), now: 5 });
    assert.equal(sent.open, 1);
    assert.equal(sent.phase, 'Paused', 'paused: no deadline');
    assert.match(sent.message, /^paused in stage 1 of 2/);
  });

  test('after a restart (a fresh timeline) a done stage soaks again: never early', () => {
    const members = [m('a', 0, 'new', true), m('b', 1, 'old', true)];
    const s = advance({ stages, members, target: 'new', paused: false, deadlineMs: 600_000, timeline: tl('new'), now: 5_000_000 });
    assert.deepEqual([s.phase, s.open], ['Soaking', 0]);
  });

  test('first creation: only the first stage gets the object', () => {
    const s = advance({ stages, members: [m('a', 0, undefined, false), m('b', 1, undefined, false)], target: 'new', paused: false, deadlineMs: 600_000, timeline: tl('new'), now: 0 });
    assert.deepEqual([s.phase, s.open], ['Progressing', 0]);
  });

  test('a copy counts as rolled out once observed, updated and available', () => {
    const copy = (status: Record<string, unknown>, generation = 2): FederatedObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', generation }, spec: { replicas: 2 }, status });
    assert.ok(rolledOut(copy({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })));
    assert.ok(!rolledOut(copy({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), 'not observed');
    assert.ok(!rolledOut(copy({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })), 'an old pod still there');
    assert.ok(!rolledOut(copy({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })), 'not available');
    const timedOut = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "w-1" has timed out progressing.' };
    assert.equal(rolloutFailed(copy({ observedGeneration: 2, conditions: [timedOut] })), timedOut.message);
    // An undo sent a moment ago: the member has not looked at it yet, the old failure is not about it.
    assert.equal(rolloutFailed(copy({ observedGeneration: 1, conditions: [timedOut] })), undefined);
    // Observed, but the timed-out condition is older than the revision sent: kept from before it.
    const at = (iso: string) => ({ ...timedOut, lastUpdateTime: iso });
    assert.equal(rolloutFailed(copy({ observedGeneration: 2, conditions: [at('2026-12-01T02:15:21Z')] }), Date.parse('2026-12-01T02:15:24.8Z')), undefined);
    assert.equal(rolloutFailed(copy({ observedGeneration: 2, conditions: [at('2026-12-01T02:15:40Z')] }), Date.parse('2026-12-01T02:15:24.8Z')), timedOut.message);
  });
});

describe('revision history', () => {
  const deploy = (image: string, extra: Record<string, unknown> = {}): FederatedObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', annotations: { 'kubernetes.io/change-cause': `image ${image}` } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } }, ...extra },
  });
  const entries = (objs: FederatedObject[]) => objs.map((o) => readHistory(o)!);

  test("a Deployment's revisions are ReplicaSets it controls, as kubectl reads them", () => {
    const rs = historyObject(deploy('a'), 1);
    assert.equal(rs.kind, 'ReplicaSet');
    const hash = templateHash(deploy('a').spec!.template as Record<string, unknown>);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['kubernetes.io/change-cause'], 'image a');
    assert.deepEqual((rs.spec as { selector: unknown }).selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    // Read back, the template is the Deployment's again (without the ReplicaSet's hash label).
    assert.deepEqual(readHistory(rs)!.template, deploy('a').spec!.template);
    assert.equal(readHistory(rs)!.revision, 1);
  });

  test("a StatefulSet's or DaemonSet's are ControllerRevisions holding the patch undo applies", () => {
    const ds: FederatedObject = { ...deploy('a'), kind: 'DaemonSet' };
    const cr = historyObject(ds, 4);
    assert.equal(cr.kind, 'ControllerRevision');
    assert.equal((cr as { revision?: number }).revision, 4);
    assert.equal((cr.data as { spec: { template: { $patch: string } } }).spec.template.$patch, 'replace');
    assert.deepEqual(readHistory(cr)!.template, ds.spec!.template);
    assert.ok(hasRevisions('StatefulSet') && hasRevisions('DaemonSet') && !hasRevisions('Job'));
  });

  test('a new template is the next revision; an unchanged one writes nothing; going back renumbers the old one', () => {
    const first = planHistory(deploy('a'), [], new Set());
    assert.equal(first.revision, 1);
    const h1 = entries([first.write!]);
    assert.equal(planHistory(deploy('a', { replicas: 9 }), h1, new Set()).write, undefined, 'replicas are no revision');
    // A change-cause written after the change reaches the newest revision, at the same number.
    const later = deploy('a');
    later.metadata.annotations = { 'kubernetes.io/change-cause': 'rollback of the mirror', team: 'shop' };
    const annotated = planHistory(later, h1, new Set());
    assert.equal(annotated.revision, 1);
    assert.deepEqual(annotated.write?.metadata.annotations, { 'kubernetes.io/change-cause': 'rollback of the mirror', team: 'shop', 'deployment.kubernetes.io/revision': '1' });
    const second = planHistory(deploy('b'), h1, new Set());
    assert.equal(second.revision, 2);
    const h2 = [...h1, ...entries([second.write!])];
    const undo = planHistory(deploy('a'), h2, new Set());
    assert.equal(undo.revision, 3);
    assert.equal(undo.write!.metadata.name, first.write!.metadata.name, 'the same ReplicaSet');
    assert.equal(undo.write!.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  });

  test('revisionHistoryLimit prunes the oldest, but never one a member still runs', () => {
    let history: ReturnType<typeof entries> = [];
    for (const [i, image] of ['a', 'b', 'c', 'd'].entries()) history = [...history, ...entries([historyObject(deploy(image), i + 1)])];
    const plan = planHistory(deploy('d', { revisionHistoryLimit: 1 }), history, new Set());
    assert.deepEqual(plan.prune.map((o) => readHistory(o)!.revision).sort(), [1, 2]);
    const kept = planHistory(deploy('d', { revisionHistoryLimit: 1 }), history, new Set([history[0]!.hash]));
    assert.deepEqual(kept.prune.map((o) => readHistory(o)!.revision), [2]);
  });

  test("the newest ReplicaSet counts the members' ready pods of its revision only (helm --wait reads it)", () => {
    const entry = readHistory(historyObject(deploy('b'), 2))!;
    const copy = (hash: string, status: Record<string, number>, generation = 3): FederatedObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation, annotations: { [REVISION_ANNOTATION]: hash } }, spec: { replicas: 2 }, status: { observedGeneration: generation, ...status } });
    const done = copy(entry.hash, { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    // Mid-rollout: 3 pods, 1 of them new; 2 ready are the old ones.
    const rolling = copy(entry.hash, { replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 });
    const older = copy('other', { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    assert.deepEqual(replicaSetStatus(entry, [done, rolling, older, undefined]), { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 });
  });
});
