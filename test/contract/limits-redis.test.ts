// The Limits contract over Redis: two adapters on one prefix are two nodes sharing their counts.
// And Redis away: each call is answered at once from this node's own counts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
    const a = await RedisLimits.open(url, 'n1');
    const b = await RedisLimits.open(url, 'n2');
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

it('Redis unreachable: calls are counted by this node, without waiting', async () => {
  // A port that accepts nothing: the address of a server closed at once.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const limits = await RedisLimits.open(`redis://127.0.0.1:${port}/?prefix=${prefix()}`, 'n1');
  try {
    assert.equal(limits.connected, false);
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await limits.rate('k', 3, 5_000));
    assert.deepEqual(answers, [true, true, true, false]);
    await limits.attemptFailed(['u'], 2, 60_000, 1000);
    await limits.attemptFailed(['u'], 2, 60_000, 1001);
    assert.equal(await limits.attemptsExhausted(['u'], 2, 60_000, 1002), true);
    assert.equal(await limits.chat('c', 1, 1, 1000), true);
    assert.equal(await limits.chat('c', 1, 1, 1000), false);
    assert.ok(Date.now() - started < 1000, 'no call waited on Redis');
    assert.ok(limits.fallbacks >= 8);
  } finally {
    await limits.close();
  }
});
