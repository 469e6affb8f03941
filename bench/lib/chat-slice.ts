// One measured slice of a chat benchmark: senders at a paced rate for `ms`, then waits (at most
// 5 s) until every member has every message, and adds up what was delivered and lost.
import { sleep, type Child } from './child.js';

export interface ChatSide {
  clients: Child;
  senders: Child;
  delivered: number;
  lost: number;
  errors: number;
  ms: number;
  frameBytes: number;
  firstError?: string;
}

export function chatSide<T extends object>(clients: Child, senders: Child, extra: T): ChatSide & T {
  return { clients, senders, delivered: 0, lost: 0, errors: 0, ms: 0, frameBytes: 0, ...extra };
}

export async function chatSlice(side: ChatSide, members: number, run: { ratePerSecond: number; durationMs: number; bytes?: number }, record: boolean): Promise<void> {
  const base = (await side.clients.call('stats')).received as number;
  const r = await side.senders.call('run', run);
  const want = base + (r.sent - r.errors) * members;
  const deadline = performance.now() + 5_000;
  let got = base;
  while (performance.now() < deadline) {
    got = (await side.clients.call('stats')).received as number;
    if (got >= want) break;
    await sleep(20);
  }
  side.frameBytes = (await side.clients.call('stats')).frameBytes;
  if (!record) return;
  side.delivered += got - base;
  side.lost += Math.max(0, want - got);
  side.errors += r.errors;
  side.ms += r.ms;
  side.firstError ??= r.firstError;
}
