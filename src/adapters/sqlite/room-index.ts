// Which outbox rows hold each room's recent events, by seq: what catch-up after a reconnect reads
// (Store.roomEvents). Catch-up serves only the events of the resume window, so the SQLite store
// keeps this index in memory for that long and rebuilds it from the outbox at open, instead of
// writing a row per event: those rows cost about a tenth of the admin path's throughput.

/** How often the index notes which outbox id was the last at a time (ms). */
const MARK_MS = 1_000;

export class RoomEventIndex {
  /** Per room: seq, outbox id, seq, id, … flat, both ascending (one life of the room). */
  private readonly rooms = new Map<string, number[]>();
  /** Flat time, last outbox id then, …: where the window starts, as an id. */
  private readonly marks: number[] = [];
  private sweptAt = 0;

  constructor(private readonly windowMs: number) {}

  /** A committed event: room, seq, and its outbox row. */
  add(appId: number, roomId: string, seq: number, id: number): void {
    const key = `${appId}\n${roomId}`;
    const entries = this.rooms.get(key);
    // A seq that does not follow starts a new life of the room (dismissed, then created again).
    if (!entries || entries[entries.length - 2] >= seq) this.rooms.set(key, [seq, id]);
    else entries.push(seq, id);
  }

  /** The outbox ids of the room's events after `afterSeq`, at most `limit`, in seq order. */
  ids(appId: number, roomId: string, afterSeq: number, limit: number): number[] {
    const entries = this.rooms.get(`${appId}\n${roomId}`);
    if (!entries || limit <= 0) return [];
    let lo = 0;
    let hi = entries.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[2 * mid] <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = 2 * lo; i < entries.length && out.length < limit; i += 2) out.push(entries[i + 1]);
    return out;
  }

  /** Outbox rows up to `lastId` exist at `at` (a commit, or a row read at open). */
  mark(at: number, lastId: number): void {
    const m = this.marks;
    if (m.length === 0 || at - m[m.length - 2] >= MARK_MS) m.push(at, lastId);
  }

  /** A batch committed: notes it, and now and then drops the events that left the window. */
  committed(now: number, lastId: number): void {
    this.mark(now, lastId);
    if (now - this.sweptAt >= Math.max(MARK_MS, this.windowMs / 4)) this.sweep(now);
  }

  /** Drops every event committed before the newest mark older than the window. */
  private sweep(now: number): void {
    this.sweptAt = now;
    const m = this.marks;
    let k = -2;
    while (k + 2 < m.length && m[k + 2] < now - this.windowMs) k += 2;
    if (k < 0) return;
    const floor = m[k + 1];
    m.splice(0, k + 2);
    for (const [key, entries] of this.rooms) {
      if (entries[entries.length - 1] <= floor) this.rooms.delete(key);
      else if (entries[1] <= floor) {
        let cut = 2;
        while (entries[cut + 1] <= floor) cut += 2;
        entries.splice(0, cut);
      }
    }
  }

  /** Rooms with events in the index (tests). */
  get size(): number {
    return this.rooms.size;
  }
}
