// Kubeconfig files as kubectl reads and writes them: several files (--kubeconfig, else KUBECONFIG,
// else ~/.kube/config) merged with the first file winning for every named entry and for
// current-context; new entries written to the first file; every write atomic and 0600; entries we
// do not touch left as they were, text and all (the yaml Document API edits in place).
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { type Document, isMap, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import { errorMessage, InputError, UserError } from './errors.ts';

export interface ClusterEntry {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  extensions?: NamedExtension[];
}

export interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: Record<string, unknown>;
  'auth-provider'?: Record<string, unknown>;
  /** Impersonation, as kubectl's --as, --as-group, --as-uid. */
  as?: string;
  'as-groups'?: string[];
  'as-uid'?: string;
  extensions?: NamedExtension[];
}

export interface ContextEntry {
  cluster: string;
  user: string;
  namespace?: string;
  extensions?: NamedExtension[];
}

export interface NamedExtension {
  name: string;
  extension: unknown;
}

type Section = 'clusters' | 'users' | 'contexts';
const entryKey: Record<Section, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };

interface LoadedFile {
  path: string;
  /** The parsed file; undefined when the file does not exist yet. */
  doc: Document | undefined;
}

/** Names the files to use, exactly as kubectl does. */
export function kubeconfigPaths(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [resolve(explicit)];
  const fromEnv = (env.KUBECONFIG ?? '')
    .split(delimiter)
    .filter((p) => p !== '')
    .map((p) => resolve(p));
  if (fromEnv.length > 0) return [...new Set(fromEnv)];
  return [join(homedir(), '.kube', 'config')];
}

function parseFile(path: string): Document {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read kubeconfig ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new UserError(`kubeconfig ${path} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new UserError(`kubeconfig ${path} is not a kubeconfig (expected a mapping at the top)`);
  }
  return doc;
}

// Paths inside a kubeconfig are relative to the file that names them.
const pathFields: Record<Section, string[]> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile'],
  contexts: [],
};

/** The merged view of a chain of kubeconfig files, able to write entries back like kubectl. */
export class Kubeconfig {
  private readonly files: LoadedFile[];
  private constructor(files: LoadedFile[]) {
    this.files = files;
  }

  static load(explicit?: string, env: NodeJS.ProcessEnv = process.env): Kubeconfig {
    const paths = kubeconfigPaths(explicit, env);
    if (explicit && !existsSync(paths[0]!)) {
      throw new InputError(`kubeconfig ${paths[0]} does not exist: check --kubeconfig`);
    }
    return new Kubeconfig(paths.map((path) => ({ path, doc: existsSync(path) ? parseFile(path) : undefined })));
  }

  /** Builds a Kubeconfig from text, for tests and for credentials stored in Secrets. */
  static fromText(text: string, path = '<memory>'): Kubeconfig {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) throw new UserError(`kubeconfig is not valid YAML: ${doc.errors[0]?.message}`);
    return new Kubeconfig([{ path, doc }]);
  }

  get paths(): string[] {
    return this.files.map((f) => f.path);
  }

  get currentContext(): string | undefined {
    for (const f of this.files) {
      const value = f.doc?.get('current-context');
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  }

  private find<T>(section: Section, name: string): { value: T; file: LoadedFile } | undefined {
    for (const file of this.files) {
      const seq = file.doc?.get(section);
      if (!isSeq(seq)) continue;
      for (const item of seq.items) {
        if (isMap(item) && item.get('name') === name) {
          const json = item.toJSON() as Record<string, unknown>;
          const value = (json[entryKey[section]] ?? {}) as Record<string, unknown>;
          for (const field of pathFields[section]) {
            const p = value[field];
            if (typeof p === 'string' && p !== '' && !isAbsolute(p)) value[field] = resolve(dirname(file.path), p);
          }
          return { value: value as T, file };
        }
      }
    }
    return undefined;
  }

  private names(section: Section): string[] {
    const seen = new Set<string>();
    for (const file of this.files) {
      const seq = file.doc?.get(section);
      if (!isSeq(seq)) continue;
      for (const item of seq.items) {
        const name = isMap(item) ? item.get('name') : undefined;
        if (typeof name === 'string') seen.add(name);
      }
    }
    return [...seen];
  }

  contextNames(): string[] {
    return this.names('contexts');
  }

  context(name: string): ContextEntry | undefined {
    return this.find<ContextEntry>('contexts', name)?.value;
  }

  cluster(name: string): ClusterEntry | undefined {
    return this.find<ClusterEntry>('clusters', name)?.value;
  }

  user(name: string): UserEntry | undefined {
    return this.find<UserEntry>('users', name)?.value;
  }

  /**
   * The context, its cluster and its user, or an error naming what is missing. name defaults to
   * the current context.
   */
  resolve(name: string | undefined, flag = '--context'): ResolvedContext {
    const contextName = name ?? this.currentContext;
    if (!contextName) {
      throw new InputError(`no current context is set in ${this.describePaths()}: pass ${flag}`);
    }
    const context = this.context(contextName);
    if (!context) {
      const known = this.contextNames();
      throw new InputError(
        `context "${contextName}" does not exist in ${this.describePaths()}` +
          (known.length > 0 ? ` (contexts: ${known.join(', ')})` : '') +
          `: check ${flag}`,
      );
    }
    const cluster = this.cluster(context.cluster);
    if (!cluster?.server) {
      throw new UserError(`context "${contextName}" names cluster "${context.cluster}", which has no server in ${this.describePaths()}`);
    }
    const user = this.user(context.user) ?? {};
    return { name: contextName, context, cluster, clusterName: context.cluster, user, userName: context.user };
  }

  describePaths(): string {
    return this.files.length === 1 ? this.files[0]!.path : `KUBECONFIG (${this.paths.join(delimiter)})`;
  }

  /** The extension stored under name in a context, if any. */
  contextExtension<T>(contextName: string, extensionName: string): T | undefined {
    const ext = this.context(contextName)?.extensions?.find((e) => e.name === extensionName);
    return ext?.extension as T | undefined;
  }

  /**
   * Sets (adds or replaces) named entries and optionally the current context, then writes every
   * file it changed, atomically. An entry that exists is replaced in the file that defines it (the
   * one that wins); a new one goes to the first file; current-context goes to the first file.
   */
  write(changes: {
    clusters?: Record<string, ClusterEntry>;
    users?: Record<string, UserEntry>;
    contexts?: Record<string, ContextEntry>;
    currentContext?: string;
    /** Entries to delete, from whichever file defines them. */
    remove?: { clusters?: string[]; users?: string[]; contexts?: string[] };
  }): string[] {
    // Under kubectl's lock convention (FILE.lock, made exclusively), on the files as they are now:
    // another kubectl or kubectl-federation may have written them since they were read.
    return withLocks(this.files.map((f) => f.path), () => {
      for (const f of this.files) f.doc = existsSync(f.path) ? parseFile(f.path) : undefined;
      return this.applyAndWrite(changes);
    });
  }

  /**
   * Fails in one line, before anything is deployed, when a file write() would change cannot be
   * written: a read-only file (even for root, as kubectl refuses it), a directory that is read-only
   * or not writable. Only the first file gets new entries; it is the one checked.
   */
  checkWritable(): void {
    const path = this.files[0]!.path;
    const fail = (why: string, fix: string) => {
      throw new UserError(`cannot write kubeconfig ${path}: ${why}; ${fix}`);
    };
    const other = 'or name another file with --kubeconfig';
    if (existsSync(path)) {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o200) === 0) fail(`it is read-only (mode ${mode.toString(8).padStart(4, '0')})`, `make it writable (chmod u+w ${path}) ${other}`);
    }
    let dir = dirname(path);
    while (!existsSync(dir)) dir = dirname(dir);
    const probe = join(dir, `.${randomBytes(6).toString('hex')}.probe`);
    try {
      closeSync(openSync(probe, 'wx', 0o600));
      rmSync(probe, { force: true });
    } catch (err) {
      fail(fileSystemReason(err, dir), `make ${dir} writable ${other}`);
    }
  }

  private applyAndWrite(changes: Parameters<Kubeconfig['write']>[0]): string[] {
    const first = this.files[0]!;
    const touched = new Set<LoadedFile>();
    const docOf = (file: LoadedFile): Document => {
      if (!file.doc) {
        file.doc = parseDocument('apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
      }
      return file.doc;
    };
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      const entries: [string, unknown][] = Object.entries(changes[section] ?? {});
      for (const [name, value] of entries) {
        const file = this.find(section, name)?.file ?? first;
        const doc = docOf(file);
        let seq = doc.get(section);
        if (!isSeq(seq)) {
          seq = doc.createNode([]);
          doc.set(section, seq);
        }
        const items = (seq as YAMLSeq<unknown>).items;
        const node: unknown = doc.createNode({ name, [entryKey[section]]: value });
        const index = items.findIndex((item) => isMap(item) && item.get('name') === name);
        if (index >= 0) items[index] = node;
        else items.push(node);
        touched.add(file);
      }
    }
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      for (const name of changes.remove?.[section] ?? []) {
        const file = this.find(section, name)?.file;
        const seq = file?.doc?.get(section);
        if (!file || !isSeq(seq)) continue;
        const items = (seq).items;
        const index = items.findIndex((item) => isMap(item) && item.get('name') === name);
        if (index < 0) continue;
        items.splice(index, 1);
        touched.add(file);
      }
    }
    if (changes.currentContext !== undefined) {
      docOf(first).set('current-context', changes.currentContext);
      touched.add(first);
    }
    for (const file of touched) {
      // kubectl's own layout (sequences not indented under their key), so files it wrote keep their text.
      writeFileAtomic(file.path, file.doc!.toString({ lineWidth: 0, indentSeq: false }));
    }
    return [...touched].map((f) => f.path);
  }
}

export interface ResolvedContext {
  name: string;
  context: ContextEntry;
  cluster: ClusterEntry;
  clusterName: string;
  user: UserEntry;
  userName: string;
}

/** A file-system error as one line: what the system said, in words. */
function fileSystemReason(err: unknown, where: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is not a directory',
  };
  return `${where}: ${code && words[code] ? `${words[code]} (${code})` : errorMessage(err)}`;
}

const LOCK_WAIT_MS = 10_000;

/**
 * Removes a lock left by one of our commands that died holding it (its pid, on this host, is gone).
 * kubectl's own locks are empty: those are never taken over, only waited for.
 */
function removeIfStale(lock: string): boolean {
  let holder: string;
  try {
    holder = readFileSync(lock, 'utf8');
  } catch {
    return true; // gone meanwhile: try again
  }
  const m = /^(\d+)@(.+)$/.exec(holder);
  if (!m || m[2] !== hostname()) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return false;
  }
  // Still the dead holder's (not a lock someone took a moment ago): remove it.
  try {
    if (readFileSync(lock, 'utf8') === holder) rmSync(lock, { force: true });
  } catch {
    // Gone meanwhile.
  }
  return true;
}

/**
 * Runs fn holding FILE.lock for every path, as kubectl (client-go) locks a kubeconfig it modifies:
 * so kubectl and we never clobber each other, nor two of our commands. kubectl gives up at once on
 * a held lock; we wait up to 10 s for the other writer, then say which file to remove if none is.
 */
function withLocks<T>(paths: string[], fn: () => T): T {
  const held: string[] = [];
  try {
    for (const path of paths) {
      const lock = `${path}.lock`;
      const deadline = Date.now() + LOCK_WAIT_MS;
      for (;;) {
        try {
          mkdirSync(dirname(lock), { recursive: true, mode: 0o700 });
          const fd = openSync(lock, 'wx', 0o600);
          // Who holds it: a lock whose holder died (killed mid-write) is taken over, not waited on.
          writeSync(fd, `${process.pid}@${hostname()}`);
          closeSync(fd);
          held.push(lock);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot lock kubeconfig ${fileSystemReason(err, lock)}`);
          if (removeIfStale(lock)) continue;
          if (Date.now() > deadline) {
            throw new UserError(`kubeconfig ${path} is locked (${lock} exists): another kubectl is writing it; if none is, remove ${lock}`);
          }
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    }
    return fn();
  } finally {
    for (const lock of held) rmSync(lock, { force: true });
  }
}

/**
 * Writes data to path through a temporary file in the same directory and a rename, so a reader
 * (or a crash) never sees a half-written file. A new file gets mode 0600 (kubeconfigs hold keys);
 * a rewritten one keeps its mode and owner. File-system errors are the user's to fix: one line.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  try {
    writeThroughRename(path, data, mode);
  } catch (err) {
    if (err instanceof UserError || !(err as NodeJS.ErrnoException).code) throw err;
    throw new UserError(`cannot write kubeconfig ${fileSystemReason(err, path)}; fix that, or name another file with --kubeconfig`);
  }
}

/**
 * A file only its owner may read (a backup holding private keys), written as writeFileAtomic
 * writes: mode 0600 whatever an earlier file at path had.
 */
export function writePrivateFile(path: string, data: Buffer): void {
  try {
    writeThroughRename(path, data, 0o600, true);
  } catch (err) {
    if (err instanceof UserError || !(err as NodeJS.ErrnoException).code) throw err;
    throw new UserError(`cannot write ${fileSystemReason(err, path)}; fix that, or name another file with -f`);
  }
}

function writeThroughRename(path: string, data: string | Buffer, defaultMode: number, forceMode = false): void {
  // A symlinked kubeconfig stays a symlink: write where it points.
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const existing = existsSync(target) ? statSync(target) : undefined;
  const mode = existing && !forceMode ? existing.mode & 0o777 : defaultMode;
  if ((mode & 0o200) === 0) {
    throw new UserError(`cannot write kubeconfig ${path}: it is read-only (mode ${mode.toString(8).padStart(4, '0')}); make it writable (chmod u+w ${path}) or name another file with --kubeconfig`);
  }
  const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  // Root rewriting a user's file leaves it the user's.
  if (existing && process.getuid?.() === 0 && (existing.uid !== 0 || existing.gid !== 0)) chownSync(tmp, existing.uid, existing.gid);
  try {
    // writeFileSync on a descriptor writes it all, however large (writeSync may stop short).
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
