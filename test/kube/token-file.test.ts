// A client whose token comes from a file reads the file again every minute, as client-go does: the
// kubelet replaces a pod's projected service-account token before it expires, and the controller
// manager runs for much longer than a token lives.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import { Kubeconfig } from '../../shared/kubeconfig.ts';
import { credentialsFor } from '../../shared/kube/credentials.ts';
import { ApiError, RestClient } from '../../shared/kube/rest.ts';
import { memberToken } from '../support/federation.ts';
import { kubeConfigFor, uniqueName } from '../support/kube.ts';
import { type Planes, testPlanes } from '../support/localcluster.ts';

let planes: Planes;
before(async () => {
  planes = await testPlanes(['host']);
});
after(() => planes.stop());

test('a token file is read again after a minute: a replaced token is used, a bad one fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-file-'));
  const tokenFile = join(dir, 'token');
  const good = await memberToken(kubeConfigFor(planes.kubeconfig, 'host'), uniqueName('token-file'));
  writeFileSync(tokenFile, good);
  const admin = await credentialsFor(Kubeconfig.load(planes.kubeconfig).resolve('host'));
  mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const client = new RestClient({ server: admin.server, ca: admin.ca, token: good, tokenFile });
  const status = async () => {
    try {
      await client.get('/api');
      return 200;
    } catch (err) {
      if (err instanceof ApiError) return err.status;
      throw err;
    }
  };
  try {
    assert.equal(await status(), 200);
    writeFileSync(tokenFile, 'not-a-token');
    assert.equal(await status(), 200, 'within the minute the token read before is used');
    mock.timers.tick(61_000);
    assert.equal(await status(), 401, 'after it, the file is read again');
    writeFileSync(tokenFile, `${good}\n`);
    mock.timers.tick(61_000);
    assert.equal(await status(), 200);
  } finally {
    mock.timers.reset();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
