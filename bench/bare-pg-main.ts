// Baseline for the PostgreSQL admin benchmark: a bare Fastify JSON POST route, in its own process,
// that runs one PostgreSQL transaction per request with `pg` — lock the room's row, write it back,
// log the change — and answers a Tencent-sized envelope. No auth, no rules. Its tables live in
// BENCH_PG_SCHEMA; its pool is BENCH_PG_POOL connections (the size of Rostrum's default pool).
import Fastify from 'fastify';
import pg from 'pg';
import { serveParent } from './lib/child.js';
import { PG_URL } from './lib/pg.js';

const schema = process.env.BENCH_PG_SCHEMA ?? '';
if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad BENCH_PG_SCHEMA ${schema}`);
const pool = new pg.Pool({ connectionString: PG_URL, max: Number(process.env.BENCH_PG_POOL ?? 10), options: `-c search_path="${schema}"` });
await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
await pool.query(`
  CREATE TABLE IF NOT EXISTS rooms (id text PRIMARY KEY, state jsonb NOT NULL, seq bigint NOT NULL DEFAULT 0);
  CREATE TABLE IF NOT EXISTS log (id bigserial PRIMARY KEY, room_id text NOT NULL, seq bigint NOT NULL, event jsonb NOT NULL)`);

interface Seat {
  index: number;
  userId: string | null;
}
interface State {
  seats: Seat[];
}
const SEATS = 8;
// Named statements, prepared once per connection, as Rostrum's adapter does.
const LOCK = { name: 'lock', text: 'SELECT state, seq FROM rooms WHERE id = $1 FOR UPDATE' };
const CREATE = { name: 'create', text: 'INSERT INTO rooms (id, state) VALUES ($1, $2) ON CONFLICT DO NOTHING' };
const SAVE = { name: 'save', text: 'UPDATE rooms SET state = $2, seq = $3 WHERE id = $1' };
const LOG = { name: 'log', text: 'INSERT INTO log (room_id, seq, event) VALUES ($1, $2, $3)' };

const http = Fastify({ logger: false });
let requests = 0;
http.post('/v4/:service/:command', async (req) => {
  const body = req.body as { RoomId?: string; Member_Account?: string; Index?: number };
  const roomId = String(body?.RoomId ?? 'r');
  const userId = String(body?.Member_Account ?? 'u');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    let rows = (await client.query<{ state: State; seq: string }>({ ...LOCK, values: [roomId] })).rows;
    if (rows.length === 0) {
      // First request for this room: make its row, then lock it.
      const empty: State = { seats: Array.from({ length: SEATS }, (_, index) => ({ index, userId: null })) };
      await client.query({ ...CREATE, values: [roomId, empty] });
      rows = (await client.query<{ state: State; seq: string }>({ ...LOCK, values: [roomId] })).rows;
    }
    // Toggle the member's seat: the same row, a state of the same shape, on every request.
    const state = rows[0].state;
    const seat = state.seats[(body?.Index ?? 0) % SEATS];
    seat.userId = seat.userId === null ? userId : null;
    const seq = Number(rows[0].seq) + 1;
    await client.query({ ...SAVE, values: [roomId, state, seq] });
    await client.query({ ...LOG, values: [roomId, seq, { type: 'seatListChanged', roomId, seq, at: Date.now(), data: { seats: state.seats } }] });
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
  requests++;
  return { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', RequestId: `Id-00000000000000000000000000000000-O-Seq-${requests}` };
});
await http.listen({ host: '127.0.0.1', port: 0 });
const address = http.server.address();

serveParent(
  {
    async stop() {
      await http.close();
      await pool.end();
    },
  },
  { port: typeof address === 'object' && address ? address.port : 0 },
);
