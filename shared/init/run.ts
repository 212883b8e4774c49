// What `kubectl federation init` does with its flags: resolve the contexts, run the steps, and say
// what happened. Loaded only when init runs (command.ts imports it lazily).
import { readFileSync } from 'node:fs';
import { parseDuration } from '../duration.ts';
import { InputError } from '../errors.ts';
import type { EtcdTLS, InitConfig } from '../manifests/config.ts';
import { readBackup } from '../backup/format.ts';
import { CONTEXT_EXTENSION, type FederationContextExtension } from '../constants.ts';
import type { Restore } from './steps/restore-objects.ts';
import { Kubeconfig } from '../kubeconfig.ts';
import { Output } from '../output.ts';
import { formatObjects } from '../print.ts';
import { dryRunFormat, parseBool, parseDryRun } from '../flags.ts';
import type { InitFlags } from './options.ts';
import { initConfigFromFlags } from './options.ts';
import { runInit } from './init.ts';

export interface InitCommandInput extends Omit<InitFlags, 'hostContext'> {
  hostContext?: string;
  restoreFrom?: string;
  kubeconfig?: string;
  requestTimeout: string;
  dryRun?: string | boolean;
  output?: string;
}

/** The external etcd's TLS files, read before anything is written; a file that cannot be read is named. */
function readEtcdTLS(files: NonNullable<InitConfig['etcd']['tlsFiles']>): EtcdTLS {
  const flags = { ca: '--etcd-cafile', cert: '--etcd-certfile', key: '--etcd-keyfile' } as const;
  const tls: EtcdTLS = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = files[key];
    if (!path) continue;
    try {
      tls[key] = readFileSync(path, 'utf8');
    } catch (err) {
      throw new InputError(`${flags[key]}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!tls[key].includes('-----BEGIN ')) throw new InputError(`${flags[key]}: ${path} is not a PEM file`);
  }
  return tls;
}

/**
 * The host context: the flag, else the current context, unless that is a federation init made
 * (after init switched to it): a federation is never a host, so its recorded host is used instead.
 */
function hostContextName(kc: Kubeconfig, flag: string | undefined): { name: string | undefined; viaFederation?: string } {
  const name = flag ?? kc.currentContext;
  if (name === undefined) return { name: undefined };
  const ext = kc.contextExtension<FederationContextExtension>(name, CONTEXT_EXTENSION);
  if (!ext) return { name: flag };
  if (flag !== undefined) {
    throw new InputError(`context "${flag}" is federation "${ext.federation}"'s API server, not a cluster to host one: pass --host-cluster-context=${ext.hostContext}, or another cluster's context`);
  }
  if (!kc.context(ext.hostContext)) {
    throw new InputError(`the current context "${name}" is federation "${ext.federation}", whose host context "${ext.hostContext}" is not in the kubeconfig: pass --host-cluster-context`);
  }
  return { name: ext.hostContext, viaFederation: name };
}

/** --restore-from: the backup, checked whole, and the flags that must agree with it. */
function restoreOf(input: InitCommandInput): Restore {
  const { backup, digest } = readBackup(input.restoreFrom!);
  if (input.name !== undefined && input.name !== backup.federation) {
    throw new InputError(`${input.restoreFrom} is a backup of federation "${backup.federation}", not "${input.name}": a restored federation keeps its name (its members' copies carry it); run init ${backup.federation} --restore-from ${input.restoreFrom}`);
  }
  if (parseBool(input.join, '--join', false)) throw new InputError('--join and --restore-from exclude each other: the backup brings its members back as they were');
  return { backup, digest, path: input.restoreFrom! };
}

interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export async function initCommand(input: InitCommandInput, streams: Streams): Promise<number> {
  const dryRun = parseDryRun(input.dryRun);
  const format = dryRunFormat(input.output, dryRun);
  const requestTimeoutMs = parseDuration(input.requestTimeout, '--request-timeout');
  // Flags are checked before any file or cluster is read: a bad name is reported as such.
  initConfigFromFlags({ ...input, hostContext: input.hostContext ?? '' });
  const restore = input.restoreFrom === undefined ? undefined : restoreOf(input);
  const kubeconfig = Kubeconfig.load(input.kubeconfig);
  // Before the first step: a kubeconfig init could not write at the end must stop it at the start.
  if (!dryRun) kubeconfig.checkWritable();
  const chosen = hostContextName(kubeconfig, input.hostContext);
  const host = kubeconfig.resolve(chosen.name, '--host-cluster-context');
  const cfg = initConfigFromFlags({ ...input, ...(restore ? { name: restore.backup.federation } : {}), hostContext: host.name });
  if (restore) cfg.restoring = restore.digest;
  if (cfg.etcd.tlsFiles) cfg.etcd.tls = readEtcdTLS(cfg.etcd.tlsFiles);
  // A dry run's stdout is the objects; its progress would only get in the way.
  const out = new Output({ stream: dryRun ? streams.stderr : streams.stdout, quiet: dryRun, warnings: streams.stderr });
  if (!dryRun) {
    if (chosen.viaFederation) {
      out.line(`The current context "${chosen.viaFederation}" is a federation: using the cluster that hosts it (pass --host-cluster-context to choose another)`);
    }
    out.line(`Deploying federation "${cfg.name}" onto the host cluster of context "${host.name}" (${host.cluster.server})`);
  }
  // Said at the end as it was: a context that existed is updated, not added.
  const contextExisted = kubeconfig.context(cfg.name) !== undefined;
  const wasCurrent = kubeconfig.currentContext === cfg.name;
  const result = await runInit({ cfg, kubeconfig, hostContext: host, dryRun, requestTimeoutMs, out, ...(restore ? { restore } : {}) });
  if (dryRun) {
    streams.stdout.write(formatObjects(result.objects, format));
    return 0;
  }
  out.line();
  if (result.changed === 0) out.line(`Nothing changed: federation "${cfg.name}" was already as this version of init deploys it.`);
  out.line(`Federation API server is running at: ${result.endpoint?.url}`);
  const verb = contextExisted ? 'Updated' : 'Added';
  out.line(
    cfg.switchContext
      ? wasCurrent
        ? `${verb} context "${cfg.name}" (the current context).`
        : `${verb} context "${cfg.name}". Switched to context "${cfg.name}".`
      : `${verb} context "${cfg.name}"; the current context is unchanged (--switch-context=false).`,
  );
  const flag = cfg.switchContext ? '' : ` --context=${cfg.name}`;
  if (result.members !== undefined && result.members > 0) {
    out.line(`Its ${result.members} ${result.members === 1 ? 'member' : 'members'}: kubectl${flag} get clusters; its health: kubectl federation status ${cfg.name}`);
    if (result.nonExpiring.length > 0) {
      out.line(`Joined before member tokens expired: ${result.nonExpiring.join(', ')}; join each again to move it to an expiring, renewed token (kubectl federation join ${result.nonExpiring[0]})`);
    }
  } else if (!cfg.join) {
    out.line(`Next, join a cluster: kubectl federation join CLUSTER${flag}`);
    // A bootstrap token is bound to the one cluster it joins (a member never takes another's
    // place), so init cannot print one before a name is given: it says where the command comes from.
    out.line(`Or, for a cluster the federation cannot reach (private, behind NAT): kubectl federation token create CLUSTER${flag} prints the command to run against it (pull mode)`);
  }
  return 0;
}
