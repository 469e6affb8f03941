// Concurrent seat commands over HTTP: races for one seat, or for one member, have exactly one
// winner, and the seat invariants (one member per seat, one seat per member) always hold.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enter, startTestServer, type TestServer } from './support/harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const mic = (command: string, body: unknown) => s.tencent(`room_engine_http_mic/${command}`, body);

async function createSeatRoom(roomId: string, seatCount: number): Promise<void> {
  const r = await s.tencent('room_engine_http_srv/create_room', {
    RoomInfo: { RoomId: roomId, RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: seatCount, MaxMemberCount: 1000 },
  });
  assert.equal(r.ErrorCode, 0, r.ErrorInfo);
}

function count(codes: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const c of codes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

/** Reads the seats and checks that nobody sits twice and every occupant is in the room. */
interface WireSeat {
  Index: number;
  Member_Account?: string;
  IsTakenDisabled: boolean;
}

async function checkSeatInvariants(roomId: string): Promise<WireSeat[]> {
  const seats = (await mic('get_seat_list', { RoomId: roomId })).Response.SeatList as WireSeat[];
  const seated = seats.map((x) => x.Member_Account).filter((x): x is string => x !== undefined);
  assert.equal(new Set(seated).size, seated.length, `a member holds two seats: ${seated.join(',')}`);
  assert.deepEqual(seats.map((x) => x.Index), seats.map((_, i) => i), 'one entry per seat index');
  const members = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: roomId, Count: 100 });
  const present = new Set<string>();
  let next = '';
  let page = members;
  for (;;) {
    for (const m of page.Response.MemberList) present.add(m.Member_Account);
    next = page.Response.Next;
    if (next === '') break;
    page = await s.tencent('room_engine_http_srv/get_room_member_list', { RoomId: roomId, Count: 100, Next: next });
  }
  for (const id of seated) assert.ok(present.has(id), `${id} is seated but not in the room`);
  return seats;
}

/** A small deterministic PRNG (mulberry32) in [0, 1), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('concurrent seat commands', () => {
  it('100 members picked onto one seat at once: exactly one succeeds, the rest get 100210', async () => {
    await createSeatRoom('race-seat', 4);
    const ids = Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const id of ids) await enter(s, 'race-seat', id);
    const replies = await Promise.all(ids.map((id) => mic('pick_user_on_seat', { RoomId: 'race-seat', Member_Account: id, Index: 2 })));
    const codes = replies.map((r) => r.ErrorCode);
    assert.deepEqual(count(codes), { 0: 1, 100210: 99 });
    const winner = ids[codes.indexOf(0)];
    const seats = await checkSeatInvariants('race-seat');
    assert.deepEqual(
      seats.map((x) => x.Member_Account ?? ''),
      ['', '', winner, ''],
    );
  });

  it('one member picked onto 100 seats at once: exactly one succeeds, the rest get 100203', async () => {
    await createSeatRoom('race-member', 100);
    await enter(s, 'race-member', 'solo');
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => mic('pick_user_on_seat', { RoomId: 'race-member', Member_Account: 'solo', Index: i })),
    );
    const codes = replies.map((r) => r.ErrorCode);
    assert.deepEqual(count(codes), { 0: 1, 100203: 99 });
    const seats = await checkSeatInvariants('race-member');
    const taken = seats.filter((x) => x.Member_Account !== undefined);
    assert.deepEqual(taken.map((x) => [x.Index, x.Member_Account]), [[codes.indexOf(0), 'solo']]);
  });

  it('a storm of concurrent moves, picks, kicks and locks keeps the invariants', async () => {
    const random = prng(20240607);
    await createSeatRoom('storm', 12);
    const ids = Array.from({ length: 16 }, (_, i) => `s${i}`);
    for (const id of ids) await enter(s, 'storm', id);
    // Start with most seats taken so that moves meet occupied seats (refuse, evict, exchange).
    for (let i = 0; i < 10; i++) assert.equal((await mic('pick_user_on_seat', { RoomId: 'storm', Member_Account: ids[i], Index: i })).ErrorCode, 0);
    const pickAny = (n: number) => Math.floor(random() * n);
    const calls = Array.from({ length: 300 }, () => {
      const user = ids[pickAny(ids.length)];
      const index = pickAny(12);
      const roll = random();
      if (roll < 0.25) return mic('pick_user_on_seat', { RoomId: 'storm', Member_Account: user, Index: index });
      if (roll < 0.65) return mic('move_user_to_seat', { RoomId: 'storm', Member_Account: user, SeatIndex: index, Policy: pickAny(3) });
      if (roll < 0.8) return mic('switch_seat', { RoomId: 'storm', Member_Account: user, ToIndex: index });
      if (roll < 0.9) return mic('kick_user_off_seat', { RoomId: 'storm', Member_Account: user, Data: '' });
      return mic('lock_seat', { RoomId: 'storm', Index: index, ForbidTaken: random() < 0.4, ForbidAudio: random() < 0.5 });
    });
    const codes = (await Promise.all(calls)).map((r) => r.ErrorCode);
    for (const c of codes) assert.ok([0, 100002, 100200, 100203, 100206, 100210].includes(c), `unexpected code ${c}`);
    assert.ok(codes.filter((c) => c === 0).length > 50);
    const seats = await checkSeatInvariants('storm');
    // A locked seat is always empty.
    for (const seat of seats) {
      if (seat.IsTakenDisabled) assert.equal(seat.Member_Account, undefined);
    }
  });
});
