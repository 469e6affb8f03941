// Redis connections for the cluster adapters (bus, shared limits, node liveness). ioredis
// reconnects by itself; commands issued while Redis is away fail fast instead of queueing, so a
// node keeps serving its own clients and reports itself not ready (/readyz) until Redis is back.
import { Redis } from 'ioredis';

export type { Redis };

/**
 * A bus URL: `redis://[:password@]host:port[/db][?prefix=NAME]`. Every key and channel of one
 * cluster starts with `NAME:` (default `rostrum`), so several clusters (or test runs) can share a
 * Redis server.
 */
export function parseRedisUrl(url: string): { url: string; prefix: string } {
  const u = new URL(url);
  const prefix = u.searchParams.get('prefix') ?? 'rostrum';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) throw new Error(`invalid Redis prefix ${JSON.stringify(prefix)}`);
  u.searchParams.delete('prefix');
  return { url: u.toString(), prefix };
}

/** A connection named `rostrum:<role>` (CLIENT LIST shows who is who); `url` without `prefix`. */
export function openRedis(url: string, role: string): Redis {
  const redis = new Redis(url, {
    connectionName: `rostrum:${role}`,
    // Fail a command at once while disconnected rather than holding it (and its request).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Reconnect forever: quickly at first, then every 2 s.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    lazyConnect: true,
  });
  // Connection errors are reported through `status` (readiness); without a listener ioredis logs them.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Connects, waiting at most `ms` (a start against an unreachable Redis fails clearly: the error
 * names the server and the cause, never the password). On failure the connection is given up,
 * unless `keepTrying`: then ioredis goes on reconnecting in the background.
 */
export async function connectRedis(redis: Redis, ms = 5000, keepTrying = false): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let cause = '';
  const onError = (e: Error) => (cause = e.message);
  redis.on('error', onError);
  const where = `${redis.options.host ?? '?'}:${redis.options.port ?? '?'}`;
  try {
    await Promise.race([
      redis.connect(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
    ]);
  } catch (e) {
    if (!keepTrying) redis.disconnect();
    throw new Error(`cannot reach Redis at ${where}: ${cause || (e as Error).message}`);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}

/** Whether the connection is up now. */
export function redisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}
