// The keyed work queue and the sync engine over it: one key held once, never worked on twice at a
// time, retried with a per-key back-off, and periodic keys coming back by themselves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Controller } from '../../controller-manager/runtime/controller.ts';
import { WorkQueue } from '../../controller-manager/runtime/queue.ts';

test('a key added many times while waiting is handed out once', async () => {
  const q = new WorkQueue();
  for (let i = 0; i < 5; i++) q.add('a');
  q.add('b');
  const signal = new AbortController().signal;
  assert.equal(await q.get(signal), 'a');
  assert.equal(await q.get(signal), 'b');
  assert.equal(q.length, 0);
});

test('a key added while being worked on comes back after done, not before', async () => {
  const q = new WorkQueue();
  const signal = new AbortController().signal;
  q.add('a');
  const key = await q.get(signal);
  q.add('a');
  assert.equal(q.length, 0, 'not handed to a second worker');
  q.done(key!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(signal), 'a');
});

test('failures back off per key, doubling up to the cap; forget starts afresh', () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')], [10, 20, 40, 50]);
  assert.equal(q.addRateLimited('b'), 10, 'another key is not slowed');
  q.forget('a');
  assert.equal(q.addRateLimited('a'), 10);
  q.shutDown();
});

test('an event for a key waiting in the resync lane moves it ahead of the other resyncs', async () => {
  const q = new WorkQueue();
  const signal = new AbortController().signal;
  for (const k of ['r1', 'r2', 'r3']) q.addAfter(k, 1);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(q.length, 3, 'three resyncs waiting');
  q.add('r3');
  assert.equal(q.length, 3, 'still held once');
  const served: string[] = [];
  for (let i = 0; i < 3; i++) {
    const key = (await q.get(signal))!;
    served.push(key);
    q.done(key);
  }
  assert.deepEqual(served, ['r3', 'r1', 'r2'], 'the event lane first');
  assert.equal(q.length, 0, 'the entry left behind in the resync lane is not handed out again');
  q.addAfter('r3', 1);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await q.get(signal), 'r3', 'and the key can wait in that lane again');
  assert.equal(q.length, 0);
  q.shutDown();
});

test('a worker that stopped waiting leaves no wake-up behind: the next worker gets the next key', async () => {
  const q = new WorkQueue();
  const first = new AbortController();
  const stopped = Array.from({ length: 3 }, () => q.get(first.signal));
  first.abort();
  assert.deepEqual(await Promise.all(stopped), [undefined, undefined, undefined]);
  const next = q.get(new AbortController().signal);
  q.add('k');
  const got = await Promise.race([next, new Promise((r) => setTimeout(() => r('asleep'), 100))]);
  assert.equal(got, 'k');
  q.shutDown();
});

test('get waits for a key and ends when the signal aborts', async () => {
  const q = new WorkQueue();
  const stop = new AbortController();
  const waiting = q.get(stop.signal);
  setTimeout(() => q.addAfter('later', 20), 5);
  assert.equal(await waiting, 'later');
  const ended = q.get(stop.signal);
  stop.abort();
  assert.equal(await ended, undefined);
});

test('the engine: a failing key is retried while others go on; a result re-queues a key after its delay', async () => {
  const calls: string[] = [];
  let failures = 2;
  const stop = new AbortController();
  let handed: ((key: string) => void) | undefined;
  const controller = new Controller(
    (enqueue) => {
      handed = enqueue;
      return {
      name: 'test',
      reconcile: async (key) => {
        calls.push(key);
        if (key === 'flaky' && failures-- > 0) throw new Error('not yet');
        if (key === 'periodic' && calls.filter((k) => k === 'periodic').length < 3) return { requeueAfterMs: 5 };
        return undefined;
      },
      };
    },
    { workers: 2, log: () => undefined },
    new WorkQueue({ baseDelayMs: 5, maxDelayMs: 20 }),
  );
  // The reconciler was handed its enqueue at construction; it puts keys on the engine's queue.
  assert.ok(handed);
  handed('flaky');
  assert.equal(controller.queue.length, 1);
  controller.queue.add('steady');
  controller.queue.add('periodic');
  const running = controller.run(stop.signal);
  const deadline = Date.now() + 2000;
  while ((calls.filter((k) => k === 'flaky').length < 3 || calls.filter((k) => k === 'periodic').length < 3) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  stop.abort();
  await running;
  assert.equal(calls.filter((k) => k === 'flaky').length, 3, 'two failures, then success');
  assert.equal(calls.filter((k) => k === 'steady').length, 1);
  assert.equal(calls.filter((k) => k === 'periodic').length, 3);
  assert.equal(controller.queue.retries('flaky'), 0, 'forgotten after success');
});
