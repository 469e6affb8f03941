// The one entry point of the core: `execute(appId, actor, command)`. It finds the command's
// handler, runs it in one store unit of work (read-only ones take no lock and no write path),
// and publishes the events after the unit is durable.
import type { Bus } from './ports/bus.js';
import type { Store } from './ports/store.js';
import type { Limits } from './ports/limits.js';
import { PROCESS_LIMITS } from './local-limits.js';
import type { Command, ResultOf } from './commands.js';
import type { Handlers } from './handler.js';
import type { Actor, AppId } from './model.js';
import { ReadContext, WriteContext } from './context.js';
import { RoomError } from './errors.js';
import { unstorableText } from './checks.js';
import { roomHandlers } from './rooms.js';
import { membershipHandlers } from './membership.js';
import { seatHandlers } from './seats.js';
import { seatRequestHandlers } from './seat-requests.js';
import { moderationHandlers } from './moderation.js';
import { chatHandlers } from './chat.js';
import { badWordHandlers, forgetBadWords } from './bad-words.js';
import { censorHandlers } from './censor.js';
import { broadcastHandlers } from './broadcast.js';
import { roomListHandlers } from './room-list.js';
import { auditHandlers } from './audit.js';
import { historyHandlers } from './history.js';
import { BATCHED, RoomBatcher, type BatchedCommand } from './room-batch.js';

const HANDLERS: Handlers = {
  ...roomHandlers,
  ...membershipHandlers,
  ...seatHandlers,
  ...seatRequestHandlers,
  ...moderationHandlers,
  ...chatHandlers,
  ...badWordHandlers,
  ...censorHandlers,
  ...broadcastHandlers,
  ...roomListHandlers,
  ...auditHandlers,
  ...historyHandlers,
};

export class Engine {
  /** Chat messages and entries go through batches: one store unit per room at a time. */
  readonly batches: RoomBatcher;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly clock: () => number = Date.now,
    /** Wrong-password counts: this process's by default; the cluster's when shared. */
    readonly limits: Limits = PROCESS_LIMITS,
    /** How long chat history is kept (ms; the server's `chatRetentionHours`). */
    private readonly chatRetentionMs: number = Infinity,
  ) {
    this.batches = new RoomBatcher(store, bus, HANDLERS, limits);
    // A dismissed room's compiled bad-word list goes with it, on every node (see bad-words.ts).
    bus.subscribe((e) => {
      if (e.type === 'roomDismissed') forgetBadWords(e.appId, e.roomId);
    });
  }

  async execute<C extends Command>(appId: AppId, actor: Actor, command: C): Promise<ResultOf<C>> {
    const handler = HANDLERS[command.type] as Handlers[C['type']];
    const bad = unstorableText(command);
    if (bad !== null) throw new RoomError('InvalidParam', bad.problem, bad.field);
    const now = this.clock();
    if (BATCHED.has(command.type as never)) {
      return this.batches.run(appId, actor, command as BatchedCommand, now) as Promise<ResultOf<C>>;
    }
    if (handler.mode === 'read') {
      return this.store.read(appId, (r) => handler.run(new ReadContext(r, appId, actor, now, this.chatRetentionMs), command as never)) as Promise<ResultOf<C>>;
    }
    let events: WriteContext['events'] = [];
    const result = await this.store.write(appId, async (w) => {
      const c = new WriteContext(w, appId, actor, now, this.limits);
      const out = await handler.run(c, command as never);
      await c.flush();
      events = c.events;
      return out;
    });
    for (const e of events) this.bus.publish(e);
    return result as ResultOf<C>;
  }

  /** Removes every member connected through connections whose id starts with `prefix`. */
  async evictConnections(prefix: string): Promise<number> {
    let n = 0;
    for (const m of await this.store.connectedMembers(prefix)) {
      const actor: Actor = { kind: 'user', userId: m.userId };
      if (await this.execute(m.appId, actor, { type: 'leaveRoom', roomId: m.roomId, reason: 'expired', connId: m.connId })) n++;
    }
    return n;
  }
}
