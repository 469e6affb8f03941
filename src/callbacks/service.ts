// The callback service: what the Tencent room_config commands, the CLI and (later) the native
// API call. It resolves each app's configuration — the one set over REST wins over the config
// file's; a REST deletion hides the file's — and lists, re-sends and discards given-up deliveries.
import type { AppId } from '../core/model.js';
import { callbackUrlProblem, type PrivateAddresses } from './address-policy.js';
import type { CallbackTarget, FileCallbackConfig, StoredCallbackConfig } from './commands.js';
import type { CallbackSpool, Delivery, SpoolCounts, StoredConfigState } from './spool.js';

/** The time in ms with a fraction: a read begun within the same ms as an event read is told apart. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** How far apart nodes' clocks may be. */
const CLOCK_SKEW_MS = 5_000;

/** An app's configuration in effect. */
export interface EffectiveConfig {
  url: string;
  /** null = every command. */
  commands: ReadonlySet<string> | null;
  token?: string;
  source: 'file' | 'rest';
}

export interface CallbackAdmin {
  /** Why `url` may not be configured under callbacks.privateAddresses, or null when it may. */
  urlProblem(url: string): string | null;
  /** The configuration in effect (Url and command list as get_callback shows them), or null. */
  get(appId: AppId): EffectiveConfig | null;
  /** 'exists' when REST has already set one (Tencent 100300). */
  set(appId: AppId, target: CallbackTarget): Promise<'ok' | 'exists'>;
  /** 'missing' when none is in effect (Tencent 100301). */
  update(appId: AppId, target: CallbackTarget): Promise<'ok' | 'missing'>;
  delete(appId: AppId): Promise<void>;
  /** Given-up deliveries with id > afterId (default 0), oldest first. */
  failed(appId: AppId | null, limit: number, afterId?: number): Promise<Delivery[]>;
  retry(ids: number[] | 'all', appId: AppId | null): Promise<number>;
  /** Removes given-up deliveries for good (never pending ones); returns how many. */
  discard(ids: number[] | 'all', appId: AppId | null): Promise<number>;
  counts(): Promise<SpoolCounts[]>;
}

export class CallbackService implements CallbackAdmin {
  private stored = new Map<AppId, StoredCallbackConfig>();
  private readonly effective = new Map<AppId, EffectiveConfig | null>();
  /** When the last completed load began (ms): it shows every configuration stored before then. */
  private loadedFrom = 0;
  private loading: Promise<void> | null = null;
  /**
   * This node's configuration writes, one after another: each updates the view when its answer
   * comes, so two at once on different connections could update it in the other order than they
   * committed (a deleted configuration shown again).
   */
  private writes: Promise<unknown> = Promise.resolve();
  /** Called when a configuration changes or deliveries are re-sent (the relay wakes up). */
  onChange: () => void = () => {};

  constructor(
    private readonly spool: CallbackSpool,
    private readonly files: ReadonlyMap<AppId, FileCallbackConfig>,
    private readonly privateAddresses: PrivateAddresses = 'allow',
  ) {}

  urlProblem(url: string): string | null {
    return callbackUrlProblem(url, this.privateAddresses);
  }

  /**
   * Loads what REST stored, again later to see other nodes' changes: with a read begun now or
   * later (callers at the same time share one). A configuration is stored before the events it
   * applies to are committed, so a read begun after an event was read shows the one it goes by.
   */
  async load(): Promise<void> {
    const since = preciseNow();
    while (this.loadedFrom < since) {
      this.loading ??= this.read().finally(() => (this.loading = null));
      await this.loading;
    }
  }

  /**
   * Whether the last read may have begun before a configuration that an event committed at `at`
   * (ms, by any node's clock) goes by: then a view that does not take the event is read again.
   */
  readBefore(at: number): boolean {
    return at >= this.loadedFrom - CLOCK_SKEW_MS;
  }

  private async read(): Promise<void> {
    const began = preciseNow();
    this.stored = await this.spool.allConfigs();
    this.effective.clear();
    this.loadedFrom = Math.max(this.loadedFrom, began);
  }

  /** Whether any app may have callbacks (when none, the relay reads the outbox rarely). */
  anyConfigured(): boolean {
    if (this.files.size > 0) return true;
    for (const s of this.stored.values()) if (s.kind === 'set') return true;
    return false;
  }

  /** Apps with a callback target now (file or REST). */
  configuredApps(): AppId[] {
    const apps = new Set<AppId>();
    for (const appId of this.files.keys()) apps.add(appId);
    for (const [appId, s] of this.stored) if (s.kind === 'set') apps.add(appId);
    return [...apps].filter((appId) => this.get(appId) !== null);
  }

  get(appId: AppId): EffectiveConfig | null {
    let e = this.effective.get(appId);
    if (e === undefined) {
      e = this.resolve(appId);
      this.effective.set(appId, e);
    }
    return e;
  }

  private resolve(appId: AppId): EffectiveConfig | null {
    const file = this.files.get(appId);
    const stored = this.stored.get(appId);
    if (stored?.kind === 'deleted') return null;
    const target = stored?.kind === 'set' ? stored.target : file;
    if (!target) return null;
    return {
      url: target.url,
      commands: target.commands ? new Set(target.commands) : null,
      token: file?.token || undefined,
      source: stored?.kind === 'set' ? 'rest' : 'file',
    };
  }

  /** What follows a write of `config`: this node's view takes it, and the relay wakes up. */
  private async afterWrite(appId: AppId, config: StoredCallbackConfig): Promise<void> {
    // A read begun before this write would put the old configuration back when it ends.
    await this.loading?.catch(() => {});
    this.stored.set(appId, config);
    this.effective.delete(appId);
    this.onChange();
  }

  /**
   * Writes `config` when what is stored now is one of `when`, the check and the write in one
   * step of the spool's: of calls at once (on any node), each sees what the one before it wrote.
   */
  private async storeIf(appId: AppId, config: StoredCallbackConfig, when: readonly StoredConfigState[]): Promise<boolean> {
    if (!(await this.spool.setConfigIf(appId, config, when))) return false;
    await this.afterWrite(appId, config);
    return true;
  }

  private serial<T>(write: () => Promise<T>): Promise<T> {
    const done = this.writes.then(write);
    this.writes = done.catch(() => undefined);
    return done;
  }

  set(appId: AppId, target: CallbackTarget): Promise<'ok' | 'exists'> {
    return this.serial(() => this.setNow(appId, target));
  }

  update(appId: AppId, target: CallbackTarget): Promise<'ok' | 'missing'> {
    return this.serial(() => this.updateNow(appId, target));
  }

  delete(appId: AppId): Promise<void> {
    return this.serial(() => this.deleteNow(appId));
  }

  private async setNow(appId: AppId, target: CallbackTarget): Promise<'ok' | 'exists'> {
    // Over none, or over a deletion (which hides the file's); never over one set over REST.
    const ok = await this.storeIf(appId, { kind: 'set', target: { url: target.url, commands: target.commands } }, ['none', 'deleted']);
    return ok ? 'ok' : 'exists';
  }

  private async updateNow(appId: AppId, target: CallbackTarget): Promise<'ok' | 'missing'> {
    // Over one set over REST, or over the file's when REST stored nothing; never after a deletion.
    const when: StoredConfigState[] = this.files.has(appId) ? ['set', 'none'] : ['set'];
    const ok = await this.storeIf(appId, { kind: 'set', target: { url: target.url, commands: target.commands } }, when);
    return ok ? 'ok' : 'missing';
  }

  private async deleteNow(appId: AppId): Promise<void> {
    const config: StoredCallbackConfig = { kind: 'deleted' };
    await this.spool.setConfig(appId, config);
    await this.afterWrite(appId, config);
  }

  failed(appId: AppId | null, limit: number, afterId = 0): Promise<Delivery[]> {
    return this.spool.failed(appId, limit, afterId);
  }

  async retry(ids: number[] | 'all', appId: AppId | null): Promise<number> {
    const n = await this.spool.retry(ids, appId, Date.now());
    if (n > 0) this.onChange();
    return n;
  }

  /** Nothing to wake: the relay never reads given-up rows. */
  discard(ids: number[] | 'all', appId: AppId | null): Promise<number> {
    return this.spool.discard(ids, appId);
  }

  counts(): Promise<SpoolCounts[]> {
    return this.spool.counts();
  }
}
