// Shared by the Redis test files: the server URL, whether to run, and throwaway key prefixes.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.ROSTRUM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Can we reach the server? One short connection attempt. */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * The node:test `skip` value: a message when Redis is unreachable outside CI, false otherwise.
 * In CI the tests always run, so a missing server fails them instead of hiding.
 */
export async function redisSkip(url = REDIS_URL): Promise<string | false> {
  if (process.env.CI) return false;
  return (await redisReachable(url)) ? false : `Redis unreachable at ${url} (set ROSTRUM_TEST_REDIS; runs always when CI is set)`;
}

/** A bus URL with a key prefix no other test uses. */
export function freshPrefixUrl(base = REDIS_URL): string {
  const u = new URL(base);
  u.searchParams.set('prefix', `rostrum_t_${randomBytes(6).toString('hex')}`);
  return u.toString();
}

/** Deletes every key of a prefix (tests clean up what they made; never FLUSHALL). */
export async function dropPrefix(url: string): Promise<void> {
  const u = new URL(url);
  const prefix = u.searchParams.get('prefix');
  if (!prefix) return;
  u.searchParams.delete('prefix');
  const r = new Redis(u.toString(), { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis gone: nothing to clean
  } finally {
    r.disconnect();
  }
}
