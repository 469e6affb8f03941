// Live-scale commands in batches: the chat messages (and the entries) of one room that come
// while its previous batch is being written are checked and written together — one store unit (one room lock, one
// transaction) for the batch instead of one per command. Each command still runs its own rules
// (chat.ts, membership.ts) inside that unit, against the store's state under the room's lock, so
// its checks are exactly as coherent as alone; a refused one fails alone (these rules refuse
// before they write). The events get consecutive seqs from the room (allocated in the store,
// under its lock: several nodes sharing a database stay ordered), go to the outbox and the
// chat history in one write each, and are published after commit.
import { RoomError, isRoomError } from './errors.js';
import type { CommandOf } from './commands.js';
import { WriteContext, historyOf } from './context.js';
import type { RoomEvent } from './events.js';
import type { Handler } from './handler.js';
import type { Actor, AppId, AuditEntry } from './model.js';
import type { Bus } from './ports/bus.js';
import type { Store } from './ports/store.js';
import type { Limits } from './ports/limits.js';

/** The commands that go through batches. */
export const BATCHED = new Set(['sendMessage', 'sendAdminMessage', 'enterRoom'] as const);
export type BatchedType = typeof BATCHED extends Set<infer T> ? T : never;
export type BatchedCommand = CommandOf<BatchedType>;
type BatchHandlers = { [K in BatchedType]: Handler<K> };

/** Commands per unit at most: a storm is cut into several units, none of them long. */
const MAX_BATCH = 64;

interface Pending {
  actor: Actor;
  cmd: BatchedCommand;
  now: number;
  resolve(r: unknown): void;
  reject(e: unknown): void;
}

interface RoomQueue {
  appId: AppId;
  roomId: string;
  queue: Pending[];
  /** A batch is scheduled or running: later messages wait for the next one. */
  busy: boolean;
}

export class RoomBatcher {
  private readonly rooms = new Map<string, RoomQueue>();
  /** Units committed (observability and tests). */
  units = 0;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly handlers: BatchHandlers,
    private readonly limits?: Limits,
  ) {}

  run(appId: AppId, actor: Actor, cmd: BatchedCommand, now: number): Promise<unknown> {
    const key = `${appId}\n${cmd.roomId}`;
    let r = this.rooms.get(key);
    if (!r) this.rooms.set(key, (r = { appId, roomId: cmd.roomId, queue: [], busy: false }));
    const room = r;
    return new Promise((resolve, reject) => {
      room.queue.push({ actor, cmd, now, resolve, reject });
      if (room.busy) return;
      room.busy = true;
      // At once (a lone command waits for nothing); what comes while its unit runs forms the
      // next batch, as a group commit does.
      queueMicrotask(() => void this.drain(key, room));
    });
  }

  /** One batch after the other, so a room's commands commit in the order they came. */
  private async drain(key: string, r: RoomQueue): Promise<void> {
    while (r.queue.length > 0) await this.commit(r.appId, r.queue.splice(0, MAX_BATCH));
    r.busy = false;
    if (this.rooms.get(key) === r) this.rooms.delete(key);
  }

  private async commit(appId: AppId, batch: Pending[]): Promise<void> {
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: RoomError })[] = [];
    let events: RoomEvent[] = [];
    let audits: AuditEntry[] = [];
    try {
      await this.store.write(appId, async (w) => {
        // From scratch on every attempt: an adapter may retry the unit.
        outcomes = [];
        events = [];
        audits = [];
        // An entry takes the app lock (shared) before its room: with entries in the batch, the
        // unit takes it first, whatever command comes first.
        const entries = batch.filter((p) => p.cmd.type === 'enterRoom');
        if (entries.length > 0) await w.lockApp('shared');
        // The batch's actors at once: an adapter may read their members and entries together.
        if (w.prefetch) {
          const userIds = batch.filter((p) => p.cmd.type !== 'sendAdminMessage').map((p) => p.actor.userId);
          await w.prefetch(batch[0].cmd.roomId, userIds, entries.map((p) => (p.cmd as CommandOf<'enterRoom'>).clientIp));
        }
        for (const p of batch) {
          const c = new WriteContext(w, appId, p.actor, p.now, this.limits);
          try {
            const handler = this.handlers[p.cmd.type] as Handler<BatchedType>;
            const value = await handler.run(c as never, p.cmd as never);
            events.push(...c.events);
            audits.push(...c.audits);
            outcomes.push({ ok: true, value });
          } catch (e) {
            if (!isRoomError(e)) throw e;
            outcomes.push({ ok: false, error: e });
          }
        }
        // Every handler worked on the unit's one locked aggregate of the room (an entry that
        // changed only its member's profile emits nothing and still saves nothing else).
        if (events.length === 0 && audits.length === 0) return;
        const agg = await w.room(batch[0].cmd.roomId);
        if (agg) await w.saveRoom(appId, agg);
        // Audit and history before events: an adapter may write them (and the room) in one statement.
        if (audits.length > 0) await w.appendAudit(audits);
        await w.appendMessages(historyOf(events));
        await w.appendEvents(events);
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    this.units++;
    for (const e of events) this.bus.publish(e);
    outcomes.forEach((o, i) => (o.ok ? batch[i].resolve(o.value) : batch[i].reject(o.error)));
  }
}
