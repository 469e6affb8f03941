// Reading the outbox in an order a consumer can follow with a cursor and never miss a row.
//
// Why not a bigserial id alone: ids are handed out at INSERT, commits happen later and in any
// order. Unit A takes id 10, unit B takes id 11 and commits first; a reader sees 11, moves its
// cursor past it, and when A commits, 10 is behind the cursor forever.
//
// The visibility horizon instead: every row carries the id of the transaction that wrote it
// (txid, pg_current_xact_id()). pg_snapshot_xmin(pg_current_snapshot()) is the oldest
// transaction still running when the read starts: every transaction below it has ended, so the
// rows with txid < xmin are final — none can appear later (a transaction that has not yet taken
// an id gets one above every id handed out so far, so above xmin). Reading only those, in
// (txid, id) order, with the cursor at the last (txid, id) read, a row that commits later always
// sorts after the cursor. The cost: a long-running transaction holds the horizon back (events
// are delayed, never lost); idle_in_transaction_session_timeout bounds that (see store.ts).
//
// Order: rows of one transaction in insertion order; transactions in txid order. For one room
// that is its commit order: units queue on the room (an advisory lock, ROOM_QUEUE in
// migrations.ts) before its row lock hands them a txid, so each takes its txid after the unit
// before it committed. That holds as long as no unit queues on a room after a write or a row lock
// has given it a txid: the core locks all of a unit's rooms in one call before it writes, and
// with rostrum.check_lock_order on (the tests' sessions) the queue refuses a unit that does not.
import type { RoomEvent } from '../../core/events.js';
import type { OutboxPage } from '../../core/ports/store.js';
import type { Exec } from './writer.js';

// Reads past the horizon too, flagging the rows that are final: committed rows still waiting on
// an older transaction tell the reader to wait a moment rather than return a short page.
// ORDER BY names the table's columns: a bare `txid` would mean the output column, the id as
// text, which sorts 100 before 99.
const READ = {
  name: 'rostrum_outbox_read',
  text:
    'SELECT txid::text AS txid, id, event, txid < pg_snapshot_xmin(pg_current_snapshot()) AS final FROM outbox ' +
    'WHERE (txid, id) > ($1::xid8, $2::bigint) ORDER BY outbox.txid, outbox.id LIMIT $3',
};

// The last final row: every transaction that could still add a row has a txid above it.
const HEAD = {
  name: 'rostrum_outbox_head',
  text:
    'SELECT txid::text AS txid, id FROM outbox WHERE txid < pg_snapshot_xmin(pg_current_snapshot()) ' +
    'ORDER BY outbox.txid DESC, outbox.id DESC LIMIT 1',
};

// The newest committed row, final or not.
const NEWEST = {
  name: 'rostrum_outbox_newest',
  text: 'SELECT txid::text AS txid FROM outbox ORDER BY outbox.txid DESC, outbox.id DESC LIMIT 1',
};

const IS_FINAL = {
  name: 'rostrum_outbox_is_final',
  text: 'SELECT $1::xid8 < pg_snapshot_xmin(pg_current_snapshot()) AS final',
};

const PRUNE = {
  name: 'rostrum_outbox_prune',
  text: 'DELETE FROM outbox WHERE ctid IN (SELECT ctid FROM outbox WHERE at < $1 ORDER BY at LIMIT $2)',
};

/** '' = the start; otherwise `txid:id` as returned in a page. */
export function parseCursor(cursor: string): [string, string] {
  if (cursor === '') return ['0', '0'];
  const m = /^(\d{1,20}):(\d{1,20})$/.exec(cursor);
  if (!m) throw new Error(`invalid outbox cursor: ${JSON.stringify(cursor)}`);
  return [m[1], m[2]];
}

interface OutboxRow {
  txid: string;
  id: number;
  event: RoomEvent;
  final: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A cursor past every row committed before the call. Rows behind the horizon (an older
 * transaction anywhere on the server is still running) are waited for, up to `waitMs`, as
 * readOutbox does; past that the cursor stops short of them (they are read later, never skipped).
 */
export async function outboxHead(exec: Exec, waitMs: number): Promise<string> {
  const newest = (await exec<{ txid: string }>(NEWEST, [])).rows[0];
  if (!newest) return '';
  const deadline = Date.now() + waitMs;
  let pause = 2;
  while (!(await exec<{ final: boolean }>(IS_FINAL, [newest.txid])).rows[0].final && Date.now() < deadline) {
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
  const row = (await exec<{ txid: string; id: number }>(HEAD, [])).rows[0];
  return row ? `${row.txid}:${row.id}` : '';
}

/**
 * The final rows after the cursor. Events committed before the call but behind the horizon (an
 * older transaction, of this app or any other user of the server, is still running) are waited
 * for, up to `waitMs`: units are short, so this is usually a few ms, and a caller that has just
 * committed gets its events. A transaction open for longer only delays them to a later page.
 */
export async function readOutbox(exec: Exec, cursor: string, limit: number, waitMs: number): Promise<OutboxPage> {
  if (limit <= 0) return { events: [], cursor };
  const [txid, id] = parseCursor(cursor);
  const deadline = Date.now() + waitMs;
  let target: OutboxRow | null = null; // the last row committed when the call began
  let pause = 2;
  for (;;) {
    const rows = (await exec<OutboxRow>(READ, [txid, id, limit])).rows;
    let n = 0;
    while (n < rows.length && rows[n].final) n++;
    if (target === null && n < rows.length) target = rows[rows.length - 1];
    const covered = target === null || rows.slice(0, n).some((r) => r.txid === target!.txid && r.id === target!.id);
    if (covered || n === limit || Date.now() >= deadline) {
      if (n === 0) return { events: [], cursor };
      const last = rows[n - 1];
      return { events: rows.slice(0, n).map((r) => r.event), cursor: `${last.txid}:${last.id}` };
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

export async function pruneOutbox(exec: Exec, beforeMs: number, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  return (await exec(PRUNE, [beforeMs, limit])).rowCount ?? 0;
}

// The room's current life starts at its latest seq 1 (roomCreated); see Store.roomEvents. Per
// room, ids follow seq: they are taken under the room's lock.
const ROOM_EVENTS = {
  name: 'rostrum_outbox_room_events',
  text:
    'SELECT event FROM outbox WHERE app_id = $1 AND room_id = $2 AND seq > $3 ' +
    'AND id >= coalesce((SELECT max(id) FROM outbox WHERE app_id = $1 AND room_id = $2 AND seq = 1), 0) ' +
    'ORDER BY seq LIMIT $4',
};

export async function roomEvents(exec: Exec, appId: number, roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
  if (limit <= 0) return [];
  return (await exec<{ event: RoomEvent }>(ROOM_EVENTS, [appId, roomId, afterSeq, limit])).rows.map((r) => r.event);
}
