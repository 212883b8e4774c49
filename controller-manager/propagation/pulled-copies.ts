// Pull members: the federation never calls them. Their copies are left as carriers in each member's
// own federation namespace (shared/pull/carrier.ts), where only that member's agent may read them,
// and what the agent made of each comes back as a report, watched here: the record, the combined
// status and rollouts read a pull member's copy from its report as they read a push member's from
// its watch. Dispatch and deletion call in here for those members; nothing else changes.
import { isNotFound, type RestClient } from '../../shared/kube/rest.ts';
import { applyObject } from '../../shared/kube/apply.ts';
import type { FederatedObject } from '../../shared/propagation/copy.ts';
import type { DriftMode } from '../../shared/propagation/drift.ts';
import { copyHealth } from '../../shared/propagation/rules.ts';
import { carrierName, carrierSecret, copyDigest, readReport, type Report } from '../../shared/pull/carrier.ts';
import { pullNamespace, REPORT_LABEL } from '../../shared/pull/names.ts';
import type { EventRecorder } from '../events.ts';
import type { MemberRegistry } from '../members.ts';
import type { Enqueue } from '../runtime/controller.ts';
import { Reflector } from '../runtime/reflector.ts';
import type { ClusterOutcome } from './types.ts';

export interface PulledCopiesOptions {
  federation: RestClient;
  members: MemberRegistry;
  events: EventRecorder;
  enqueue: Enqueue;
  log: (line: string) => void;
}

interface ReportMap {
  metadata: { name: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

export class PulledCopies {
  private readonly o: PulledCopiesOptions;
  readonly reports: Reflector<ReportMap>;
  /** "cluster|key": the digest of the carrier last written, so an unchanged copy is not written again. */
  private readonly written = new Map<string, string>();
  /** "cluster|key|resourceVersion" of reports whose drift or adoption was told in an Event. */
  private readonly told = new Set<string>();

  constructor(o: PulledCopiesOptions) {
    this.o = o;
    // Every member's reports in one watch (by label): an agent's report wakes its object's reconcile.
    this.reports = new Reflector<ReportMap>(o.federation, '/api/v1/configmaps', (_t, cm) => {
      const r = readReport(cm);
      if (r) o.enqueue(r.key);
    }, { labelSelector: `${REPORT_LABEL}=true`, log: o.log });
  }

  run(signal: AbortSignal): Promise<void> {
    return this.reports.run(signal);
  }

  waitForSync(signal: AbortSignal): Promise<void> {
    return this.reports.waitForSync(signal);
  }

  isPull(cluster: string): boolean {
    return this.o.members.cluster(cluster)?.spec.mode === 'Pull';
  }

  /** The pull members among these names. */
  pullClusters(): string[] {
    return this.o.members.names().filter((c) => this.isPull(c));
  }

  report(cluster: string, key: string): (Report & { key: string }) | undefined {
    const cm = this.reports.items.get(`${pullNamespace(cluster)}/${carrierName(key)}`);
    return cm ? readReport(cm) : undefined;
  }

  /** The member's copy as its agent last reported it. */
  copy(cluster: string, key: string): FederatedObject | undefined {
    return this.report(cluster, key)?.copy;
  }

  /**
   * Leaves the rendered copy for the member's agent (if it changed) and says what the agent last
   * reported of it. A report about an older copy is not current: the agent has not got to it yet.
   */
  async sync(cluster: string, key: string, copy: FederatedObject, mode: DriftMode, owned: string[], fed: FederatedObject, base: { cluster: string; replicas?: number }): Promise<ClusterOutcome> {
    const want = copyDigest(copy);
    const memo = `${cluster}|${key}`;
    if (this.written.get(memo) !== want) {
      await applyObject(this.o.federation, carrierSecret(cluster, { key, copy, mode, owned }));
      this.written.set(memo, want);
    }
    const report = this.report(cluster, key);
    const what = `${fed.kind} ${key.slice(key.indexOf('/') + 1)}`;
    if (!report || report.want !== want) {
      return { ...base, applied: false, healthy: false, current: false, reachable: true, waitsFor: 'member', ...(report?.copy ? { copy: report.copy } : {}), error: `cluster ${cluster}: waiting for its agent to apply ${what} (pull mode)` };
    }
    await this.tell(cluster, key, report, fed, what);
    if (report.error) {
      return { ...base, applied: false, healthy: false, current: false, reachable: true, waitsFor: report.waitsFor === 'user' ? 'user' : 'member', ...(report.copy ? { copy: report.copy } : {}), error: report.error };
    }
    if (!report.copy) return { ...base, applied: true, healthy: true, current: true, reachable: true };
    return { ...base, ...copyHealth(report.copy, true), copy: report.copy, current: report.current, reachable: true };
  }

  /** Drift put back and adoptions, told once per report, as push dispatch tells them. */
  private async tell(cluster: string, key: string, report: Report, fed: FederatedObject, what: string): Promise<void> {
    if (!report.drift && !report.adopted) return;
    const once = `${cluster}|${key}|${report.copy?.metadata.resourceVersion ?? ''}`;
    if (this.told.has(once)) return;
    this.told.add(once);
    if (report.drift === 'changed' && !report.error) await this.o.events.record(fed, 'Normal', 'DriftCorrected', `cluster ${cluster}: a change made in the member to ${what} was put back; change the federation's object instead`);
    if (report.drift === 'deleted' && !report.error) await this.o.events.record(fed, 'Normal', 'DriftCorrected', `cluster ${cluster}: ${what} was deleted in the member and made again; delete the federation's object, or narrow its placement, to remove it there`);
    if (report.drift && report.error) await this.o.events.record(fed, 'Warning', 'DriftDetected', report.error);
    if (report.adopted) await this.o.events.record(fed, 'Normal', 'Adopted', `cluster ${cluster}: the existing ${what} is now managed by the federation, as a fresh copy would be`);
  }

  /**
   * Takes the copy away from the member: its carrier is deleted, and the agent deletes the copy and
   * then its report. Gone once no report is left; 'unreachable' while the member is not Ready.
   */
  async remove(cluster: string, key: string): Promise<'gone' | 'pending' | 'unreachable'> {
    this.written.delete(`${cluster}|${key}`);
    try {
      await this.o.federation.request('DELETE', `/api/v1/namespaces/${pullNamespace(cluster)}/secrets/${carrierName(key)}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!this.report(cluster, key)) return 'gone';
    return this.o.members.readiness(cluster).ready ? 'pending' : 'unreachable';
  }

  /** Whether the member holds (or is being given) a copy: a carrier written, or a report not yet gone. */
  holds(cluster: string, key: string): boolean {
    return this.written.has(`${cluster}|${key}`) || this.report(cluster, key) !== undefined;
  }

  /** The object is gone from the federation: what was remembered of its carriers and Events goes too. */
  forget(key: string): void {
    for (const memo of [...this.written.keys()]) if (memo.endsWith(`|${key}`)) this.written.delete(memo);
    for (const once of [...this.told]) if (once.includes(`|${key}|`)) this.told.delete(once);
  }
}
