// Callbacks to a receiver some distance away: how fast one busy room's callbacks reach it with
// callbacks.order room (one delivery of the room in flight at a time) and none (up to
// concurrency), beside the bound one at a time allows (a callback per round trip).
//
// The receiver answers each callback BENCH_RECEIVER_DELAY_MS late (default 10, a receiver 10 ms
// away; BENCH_CALLBACK_CONCURRENCY sets callbacks.concurrency, default 8). One room of 50 seats
// takes a burst of seat changes through the admin API; the time from the burst's start to the
// relay having nothing left to send gives deliveries a second.
import { sleep, startChild, summarize, type Child } from './lib/child.js';
import { prepareRooms } from './admin.js';
import { benchApp, tencentOk } from './lib/tencent.js';
import { rounds } from './lib/slices.js';

const SHAPE = { rooms: 1, seats: 50 };
/** prepareRooms' name for the shape's one room. */
const ROOM = 'bench-admin-0';
const CHANGES = 1000;
const LANES = 25;
const ORDERS = ['room', 'none'] as const;

export async function callbacksRemoteBench(): Promise<void> {
  const delayMs = Number(process.env.BENCH_RECEIVER_DELAY_MS ?? 10);
  const concurrency = Number(process.env.BENCH_CALLBACK_CONCURRENCY ?? 8);
  const app = benchApp();
  const token = 'bench-callback-token';
  const children: Child[] = [];
  try {
    const receiver = await startChild('callback-receiver', 'bench/callback-receiver-main.ts', {
      env: { BENCH_CALLBACK_TOKEN: token, BENCH_RECEIVER_DELAY_MS: String(delayMs) },
    });
    children.push(receiver);
    const servers = new Map<(typeof ORDERS)[number], Child>();
    for (const order of ORDERS) {
      const server = await startChild(`rostrum-order-${order}`, 'bench/server-main.ts', {
        env: {
          BENCH_APP: JSON.stringify(app),
          BENCH_STORE: 'sqlite',
          BENCH_CALLBACK_URL: `http://127.0.0.1:${receiver.ready.port}/callback`,
          BENCH_CALLBACK_TOKEN: token,
          BENCH_CALLBACK_ORDER: order,
          BENCH_CALLBACK_CONCURRENCY: String(concurrency),
        },
      });
      children.push(server);
      await prepareRooms(server, app, SHAPE);
      await server.call('callbacksDrained');
      servers.set(order, server);
    }
    // CHANGES seat changes of one room, from LANES admin clients at once: client k puts member k
    // onto seat k and takes them off again, in turn.
    const burst = (port: number) =>
      Promise.all(
        Array.from({ length: LANES }, async (_, k) => {
          for (let i = 0; i < CHANGES / LANES; i++) {
            if (i % 2 === 0) await tencentOk(port, app, 'room_engine_http_mic/pick_user_on_seat', { RoomId: ROOM, Member_Account: `m${k}`, Index: k });
            else await tencentOk(port, app, 'room_engine_http_mic/kick_user_off_seat', { RoomId: ROOM, Member_Account: `m${k}`, Data: 'bench' });
          }
        }),
      );
    const rates = new Map<string, number[]>(ORDERS.map((o) => [o, []]));
    /** How long each burst took to be committed (ms): the callbacks cannot be faster than that. */
    const bursts: number[] = [];
    const n = rounds(3);
    console.log(`\ncallbacks to a receiver ${delayMs} ms away: one room, a burst of ${CHANGES} seat changes through the admin API, concurrency ${concurrency}, ${n} rounds`);
    for (let round = 0; round < n; round++) {
      for (const order of round % 2 ? [...ORDERS].reverse() : ORDERS) {
        const server = servers.get(order)!;
        const port = server.ready.port as number;
        const before = (await receiver.call<{ accepted: number }>('counts')).accepted;
        const start = performance.now();
        await burst(port);
        bursts.push(performance.now() - start);
        await server.call('callbacksDrained');
        const seconds = (performance.now() - start) / 1000;
        const accepted = (await receiver.call<{ accepted: number }>('counts')).accepted - before;
        if (accepted < CHANGES) throw new Error(`order ${order}: the receiver accepted ${accepted} callbacks of ${CHANGES}`);
        rates.get(order)!.push(accepted / seconds);
        await sleep(200);
      }
    }
    console.log(`  one at a time allows at most ${(1000 / delayMs).toFixed(0)} callbacks a second (a round trip each); the bursts took ${Math.min(...bursts).toFixed(0)}–${Math.max(...bursts).toFixed(0)} ms`);
    for (const order of ORDERS) {
      const r = rates.get(order)!;
      console.log(`  order ${order.padEnd(5)} ${summarize(r).p50.toFixed(0).padStart(6)} callbacks/s (median; rounds ${r.map((x) => x.toFixed(0)).join(', ')})`);
    }
  } finally {
    for (const c of children.reverse()) await c.call('stop').catch(() => {});
  }
}
