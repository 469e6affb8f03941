// A Redis that is connected but does not answer (slow, or a half-open link) must not make the bus
// queue publishes without bound: past a cap of bytes (or messages) waiting for Redis, events for
// the other nodes are dropped and counted, as when Redis is away; once the backlog drains, the
// bus tells the other nodes to resync from the store.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RedisBus } from '../../src/adapters/redis/bus.js';
import type { RoomEvent } from '../../src/core/events.js';
import { dropPrefix, freshPrefixUrl, redisSkip, REDIS_URL } from './redis-support.js';

const skip = await redisSkip();

/** A proxy to Redis that can hold what the client sends (Redis then never answers) and let it go. */
async function stallingProxy(target: number) {
  const clients = new Set<{ client: Socket; upstream: Socket }>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream };
    clients.add(pair);
    upstream.pipe(client);
    if (!stalled) client.pipe(upstream);
    else client.pause();
    const drop = () => (client.destroy(), upstream.destroy(), clients.delete(pair));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stall() {
      stalled = true;
      for (const { client, upstream } of clients) {
        client.unpipe(upstream);
        client.pause();
      }
    },
    resume() {
      stalled = false;
      for (const { client, upstream } of clients) client.pipe(upstream);
    },
    close: () => new Promise<void>((r) => (server.close(() => r()), clients.forEach(({ client, upstream }) => (client.destroy(), upstream.destroy())))),
  };
}

function chat(seq: number, text: string): RoomEvent {
  return {
    appId: 1400000001,
    roomId: 'slow',
    seq,
    type: 'messageReceived',
    at: Date.now(),
    actor: 'u',
    data: { msgId: `m${seq}`, userId: 'u', text, nick: '', avatar: '', userType: '' } as never,
  };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Redis bus: a slow Redis', { skip }, () => {
  const url = freshPrefixUrl();
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
    await dropPrefix(url);
  });

  it('caps what waits for Redis: the rest is dropped and counted, and the others resync once it drains', async () => {
    const proxy = await stallingProxy(Number(new URL(REDIS_URL).port || 6379));
    closers.push(proxy.close);
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const cap = 64 * 1024;
    const bus = await RedisBus.open(viaProxy.toString(), 'slow', { maxPendingBytes: cap });
    closers.push(() => bus.close());
    const peer = await RedisBus.open(url, 'peer');
    closers.push(() => peer.close());
    let resyncs = 0;
    peer.onResync!(() => resyncs++);
    const received: number[] = [];
    peer.subscribe((e) => received.push(e.seq));

    proxy.stall();
    const text = 'x'.repeat(1000);
    const total = 500; // ~500 KB: far over the cap
    for (let seq = 1; seq <= total; seq++) {
      bus.publish(chat(seq, text));
      await nextTurn(); // one message per turn
    }
    assert.ok(bus.stats.dropped > 0, `dropped ${bus.stats.dropped}`);
    assert.ok(bus.stats.sent * 1000 <= cap + 2000, `no more than the cap waits for Redis: ${bus.stats.sent} events pending`);
    assert.equal(bus.stats.sent + bus.stats.dropped, total);
    assert.equal(resyncs, 0);

    proxy.resume();
    await until('the pending events to arrive', () => received.length === bus.stats.sent);
    await until('the peer to be told to resync', () => resyncs === 1);
    assert.deepEqual(received, Array.from({ length: bus.stats.sent }, (_, i) => i + 1), 'the first ones, in order');

    // Back to normal: events go through again.
    bus.publish(chat(total + 1, 'after'));
    await until('a new event to cross', () => received.at(-1) === total + 1);
    assert.equal(bus.stats.dropped, total - received.length + 1);
  });
});
