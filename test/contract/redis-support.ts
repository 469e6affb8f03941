// Shared by the Redis test files: the server URL and whether to run.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.ROSTRUM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** The node:test `skip` value: a message when Redis is unreachable outside CI, false otherwise. */
export async function redisSkip(): Promise<string | false> {
  if (process.env.CI) return false;
  return (await redisReachable()) ? false : `Redis unreachable at ${REDIS_URL} (set ROSTRUM_TEST_REDIS; runs always when CI is set)`;
}
