// `make bench`, staged rollouts: a three-stage rollout over the propagation bench's 10 members (3, 3
// and 4 of them, no soak), run 20 times one after another (a new image each time); for each, the time
// from a stage's gate opening (the last of its members seen rolled out) to each member of the next
// stage seen receiving the change. Both ends are the members' watch events, so watch delays count on
// both sides alike. A Deployment of no replicas: no pods run here, and a member's copy is rolled out
// once its deployment controller has observed it. Then 20 Deployments changed at once: the same
// figure under a burst.
import { Reflector } from '../../controller-manager/runtime/reflector.ts';
import type { RestClient } from '../../shared/kube/rest.ts';
import { ANNOTATIONS, PROPAGATED_BY_LABEL } from '../../shared/propagation/annotations.ts';
import { done, notYet, poll } from '../../shared/wait.ts';
import { fmt, percentile } from './measure.ts';

const DEPLOYMENTS = 20;
const NS = 'staged';

interface Copy {
  metadata: { name: string; generation?: number };
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
  status?: { observedGeneration?: number; updatedReplicas?: number; replicas?: number };
}

const image = (c: Copy) => c.spec?.template?.spec?.containers?.[0]?.image;
const rolledOut = (c: Copy) => (c.status?.observedGeneration ?? 0) >= (c.metadata.generation ?? 0) && (c.status?.replicas ?? 0) === (c.spec?.replicas ?? 0);

/** The stage of member i: 0, 1 or 2 (the bench labels its Clusters so). */
export const stageLabel = (i: number): string => (i < 3 ? 'a' : i < 6 ? 'b' : 'c');


export async function stagesBench(o: { names: string[]; clients: Map<string, RestClient>; line: (s?: string) => void; signal: AbortSignal }): Promise<void> {
  const fed = o.clients.get('fed')!;
  // Per member, per Deployment and image: when it was first seen received, and first seen rolled out.
  const received = new Map<string, number>();
  const ready = new Map<string, number>();
  for (const n of o.names) {
    const r = new Reflector<Copy>(o.clients.get(n)!, `/apis/apps/v1/namespaces/${NS}/deployments`, (type, c) => {
      if (type === 'DELETED') return;
      const key = `${n}|${c.metadata.name}|${image(c)}`;
      if (!received.has(key)) received.set(key, performance.now());
      if (rolledOut(c) && !ready.has(key)) ready.set(key, performance.now());
    }, { labelSelector: PROPAGATED_BY_LABEL, log: () => undefined });
    void r.run(o.signal);
  }
  await fed.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, annotations: { [ANNOTATIONS.rolloutStages]: 'stage=a; stage=b; *' } } } });
  const deployment = (i: number, tag: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `s-${i}`, namespace: NS },
    spec: { replicas: 0, selector: { matchLabels: { app: `s-${i}` } }, template: { metadata: { labels: { app: `s-${i}` } }, spec: { containers: [{ name: 'web', image: `registry.example/web:${tag}` }] } } },
  });
  const everywhere = (tag: string, count: number) =>
    poll(
      async () => {
        const missing = o.names.flatMap((n) => Array.from({ length: count }, (_, i) => `${n}|s-${i}|registry.example/web:${tag}`)).filter((k) => !ready.has(k));
        return missing.length === 0 ? done(true) : notYet(`${missing.length} copies not rolled out on ${tag}`);
      },
      { what: `every staged Deployment rolled out on ${tag} in every member`, timeoutMs: 300_000, intervalMs: 100 },
    );
  for (let i = 0; i < DEPLOYMENTS; i++) await fed.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, { body: deployment(i, '1') });
  await everywhere('1', DEPLOYMENTS);
  const stageOf = (n: string) => stageLabel(o.names.indexOf(n));
  /** The gates of Deployment i's rollout to tag, in ms. */
  const gatesOf = (i: number, tag: string) =>
    (['a', 'b'] as const).flatMap((from) => {
      const to = from === 'a' ? 'b' : 'c';
      const opened = Math.max(...o.names.filter((n) => stageOf(n) === from).map((n) => ready.get(`${n}|s-${i}|registry.example/web:${tag}`)!));
      return o.names.filter((m) => stageOf(m) === to).map((n) => received.get(`${n}|s-${i}|registry.example/web:${tag}`)! - opened);
    });
  // One rollout at a time.
  const single: number[] = [];
  for (let r = 0; r < DEPLOYMENTS; r++) {
    const tag = `single-${r}`;
    await fed.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/s-0`, { body: deployment(0, tag), contentType: 'application/merge-patch+json' });
    await everywhere(tag, 1);
    single.push(...gatesOf(0, tag));
  }
  // A burst: every Deployment at once.
  const t0 = performance.now();
  for (let i = 0; i < DEPLOYMENTS; i++) {
    await fed.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/s-${i}`, { body: deployment(i, '2'), contentType: 'application/merge-patch+json' });
  }
  await everywhere('2', DEPLOYMENTS);
  const totalMs = performance.now() - t0;
  const gates = Array.from({ length: DEPLOYMENTS }, (_, i) => gatesOf(i, '2')).flat();
  const early = [...single, ...gates].filter((g) => g < 0).length;
  o.line(`  staged rollout, 3 stages over ${o.names.length} members, one at a time (${DEPLOYMENTS} rollouts): a stage's gate opening to the next stage's members receiving the change: p50 ${fmt(percentile(single, 50), 0)} ms, p99 ${fmt(percentile(single, 99), 0)} ms (target p99 < 1000 ms; ${single.length} samples${early ? `, ${early} EARLY` : ''})`);
  o.line(`  the same with ${DEPLOYMENTS} Deployments changed at once: all stages done in ${fmt(totalMs / 1000, 1)} s; gate to next stage p50 ${fmt(percentile(gates, 50), 0)} ms, p99 ${fmt(percentile(gates, 99), 0)} ms (${gates.length} samples)`);
}
