// The progress lines every command prints: a step ends "done", "failed" or, in a dry run, "checked".
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { clause } from '../../shared/errors.ts';
import { describeFailure } from '../../shared/kube/failures.ts';
import { ApiError } from '../../shared/kube/rest.ts';
import { Output } from '../../shared/output.ts';
import { runSteps } from '../../shared/steps.ts';

function capture(): { out: Output; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out: new Output({ stream: stream }), text: () => text };
}

test('a failing step finishes its line with "failed" before the error is printed', async () => {
  const { out, text } = capture();
  const steps = [
    { name: 'one', title: () => 'Checking one', run: async () => undefined },
    { name: 'two', title: () => 'Checking two', run: async () => Promise.reject(new Error('boom')) },
  ];
  await assert.rejects(runSteps(steps, {}, out), /boom/);
  assert.equal(text(), 'Checking one... done\nChecking two... failed\n');
});

test('a dry run never says a step was done', async () => {
  const { out, text } = capture();
  await runSteps([{ name: 'x', title: () => 'Deleting x', run: async () => 'would remove 3 objects' }], {}, out, { dryRun: true });
  assert.equal(text(), 'Deleting x... checked (dry run) (would remove 3 objects)\n');
});

test("a server's message and ours are one line of clauses: no full stop before our '; what to do'", () => {
  const err = describeFailure(new ApiError(503, 'GET', '/api', { message: 'the server is currently unable to handle the request, try again later.' }), 'host cluster', 'host', 'check that it is up');
  assert.equal(err.message, 'the host cluster (context "host") answered 503: the server is currently unable to handle the request, try again later; check that it is up');
  assert.equal(clause('line one.\nline two. '), 'line one; line two');
});
