// The Limits contract over Redis: two adapters on one prefix are two nodes sharing their counts.
// And Redis away: each call is answered at once from this node's own counts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { RedisLimits } from '../../src/adapters/redis/limits.js';
import { limitsContract } from './limits-contract.js';
import { REDIS_URL, redisSkip } from './redis-support.js';

const skip = await redisSkip();
const prefix = () => `rostrum_t_${randomBytes(6).toString('hex')}`;

limitsContract(
  'redis',
  async () => {
    const url = `${REDIS_URL}/?prefix=${prefix()}`;
    const a = await RedisLimits.open(url);
    const b = await RedisLimits.open(url);
    assert.ok(a.connected && b.connected);
    return {
      a,
      b,
      async cleanup() {
        assert.equal(a.fallbacks + b.fallbacks, 0, 'every call went to Redis');
        await a.close();
        await b.close();
      },
    };
  },
  { skip },
);

/** A port nothing listens on: the address of a server closed at once. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('Redis unreachable: calls are counted by this node, without waiting', async () => {
  const port = await deadPort();
  const limits = await RedisLimits.open(`redis://127.0.0.1:${port}/?prefix=${prefix()}`);
  try {
    assert.equal(limits.connected, false);
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await limits.rate('k', 3, 5_000));
    assert.deepEqual(answers, [true, true, true, false]);
    assert.equal(await limits.attemptReserved(['u'], 2, 60_000, 1000, 'a'), 0);
    assert.equal(await limits.attemptReserved(['u'], 2, 60_000, 1001, 'b'), 0);
    assert.equal(await limits.attemptReserved(['u'], 2, 60_000, 1002, 'c'), 59_998);
    assert.equal(await limits.chat('c', 1, 1, 1000), true);
    assert.equal(await limits.chat('c', 1, 1, 1000), false);
    assert.ok(Date.now() - started < 1000, 'no call waited on Redis');
    assert.ok(limits.fallbacks >= 8);
  } finally {
    await limits.close();
  }
});

it('Redis away at start, then up, then away again: counts follow without a restart', { skip }, async () => {
  const port = await deadPort();
  const url = `redis://127.0.0.1:${port}/?prefix=${prefix()}`;
  const a = await RedisLimits.open(url);
  const b = await RedisLimits.open(url);
  const server = () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let redis = server();
  try {
    assert.equal(a.connected, false);
    await until('both to connect', () => a.connected && b.connected);
    // Shared now: 3 a second over both.
    const t = 7_000;
    const shared = [];
    for (let i = 0; i < 6; i++) shared.push(await (i % 2 ? a : b).rate('k', 3, t));
    assert.deepEqual(shared, [true, true, true, false, false, false]);
    redis.kill('SIGKILL');
    await until('both to see Redis gone', () => !a.connected && !b.connected);
    // Each node alone: 3 each.
    const alone = [];
    for (let i = 0; i < 8; i++) alone.push(await (i % 2 ? a : b).rate('k2', 3, t));
    assert.equal(alone.filter(Boolean).length, 6);
    redis = server();
    await until('both to reconnect', () => a.connected && b.connected);
    const again = [];
    for (let i = 0; i < 4; i++) again.push(await (i % 2 ? a : b).rate('k3', 3, t));
    assert.deepEqual(again, [true, true, true, false]);
  } finally {
    redis.kill('SIGKILL');
    await a.close();
    await b.close();
  }
});
