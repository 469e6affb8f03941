// Limits shared by the nodes of a cluster through Redis: each count is one small Lua script, so
// it is atomic and exact whichever node takes the call. Keys start with the cluster prefix and
// expire on their own. Redis away (not connected, an error, no answer within COMMAND_TIMEOUT_MS):
// that call is counted by this node alone (LocalLimits), so a request never fails or waits on
// Redis; the limit is then per node until Redis is back.
import { LocalLimits } from '../../core/local-limits.js';
import type { Limits } from '../../core/ports/limits.js';
import { connectRedis, openRedis, parseRedisUrl, type Redis } from './client.js';

const COMMAND_TIMEOUT_MS = 500;

// KEYS[1] = the window's key; ARGV[1] = its lifetime (ms). Returns the count so far.
const RATE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

// A token bucket in a hash {t = tokens, at = ms}. ARGV: now, perSecond, burst. Returns 1 or 0.
const CHAT = `
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = burst
if b[1] then
  tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) / 1000 * rate)
end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return ok`;

// Sorted sets of attempt times (members: the attempts' ids).
// The check and the count in one step. ARGV: now, max, windowMs, the attempt's id. Returns the ms
// to wait (nothing counted: a key is at max), or 0 with the attempt counted on every key.
const RESERVE = `
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local wait = 0
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - window)
  if redis.call('ZCARD', k) >= max then
    local oldest = redis.call('ZRANGE', k, -max, -max, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 then return wait end
for i, k in ipairs(KEYS) do
  redis.call('ZADD', k, now, ARGV[4])
  redis.call('PEXPIRE', k, window)
end
return 0`;

// ARGV[1]: the attempt's id.
const RELEASE = `
for i, k in ipairs(KEYS) do redis.call('ZREM', k, ARGV[1]) end
return 0`;

type Scripts = {
  limitsRate(key: string, ttl: number): Promise<number>;
  limitsChat(key: string, now: number, perSecond: number, burst: number): Promise<number>;
  limitsReserve(n: number, ...args: (string | number)[]): Promise<number>;
  limitsRelease(n: number, ...args: (string | number)[]): Promise<number>;
};

export class RedisLimits implements Limits {
  /** What this node counts while Redis is away. */
  readonly local = new LocalLimits();
  /** Calls answered by the local fallback (observability, tests). */
  fallbacks = 0;

  private constructor(
    private readonly redis: Redis & Scripts,
    private readonly prefix: string,
  ) {}

  /**
   * Opens its own connection to the bus URL's Redis. A Redis that does not answer at start is
   * not an error here: the node counts alone until the connection comes up.
   */
  static async open(busUrl: string): Promise<RedisLimits> {
    const { url, prefix } = parseRedisUrl(busUrl);
    const redis = openRedis(url, 'limits');
    redis.options.commandTimeout = COMMAND_TIMEOUT_MS;
    redis.defineCommand('limitsRate', { numberOfKeys: 1, lua: RATE });
    redis.defineCommand('limitsChat', { numberOfKeys: 1, lua: CHAT });
    redis.defineCommand('limitsReserve', { lua: RESERVE });
    redis.defineCommand('limitsRelease', { lua: RELEASE });
    await connectRedis(redis, 5000, true).catch(() => undefined);
    return new RedisLimits(redis as Redis & Scripts, `${prefix}:limits:`);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  private shared<T>(call: () => Promise<T>, fallback: () => T): T | Promise<T> {
    if (this.redis.status !== 'ready') {
      this.fallbacks++;
      return fallback();
    }
    return call().catch(() => {
      this.fallbacks++;
      return fallback();
    });
  }

  rate(key: string, perSecond: number, now: number): boolean | Promise<boolean> {
    if (perSecond <= 0) return true;
    const w = Math.floor(now / 1000);
    return this.shared(
      async () => (await this.redis.limitsRate(`${this.prefix}rate:${w}:${key}`, 2000)) <= perSecond,
      () => this.local.rate(key, perSecond, now),
    );
  }

  chat(key: string, perSecond: number, burst: number, now: number): boolean | Promise<boolean> {
    if (perSecond <= 0) return true;
    return this.shared(
      async () => (await this.redis.limitsChat(`${this.prefix}chat:${key}`, now, perSecond, burst)) === 1,
      () => this.local.chat(key, perSecond, burst, now),
    );
  }

  attemptReserved(keys: readonly string[], max: number, windowMs: number, now: number, id: string): number | Promise<number> {
    const member = `r:${id}`;
    return this.shared(
      async () => {
        const wait = await this.redis.limitsReserve(keys.length, ...this.attemptKeys(keys), now, max, windowMs, member);
        // Counted here too, for a fallback while Redis is away.
        if (wait === 0) this.local.attemptFailed(keys, max, windowMs, now, id);
        return wait;
      },
      () => this.local.attemptReserved(keys, max, windowMs, now, id),
    );
  }

  attemptReleased(keys: readonly string[], id: string): void | Promise<void> {
    this.local.attemptReleased(keys, id);
    if (keys.length === 0) return;
    return this.shared(
      async () => void (await this.redis.limitsRelease(keys.length, ...this.attemptKeys(keys), `r:${id}`)),
      () => undefined,
    );
  }

  attemptsCleared(keys: readonly string[]): void | Promise<void> {
    this.local.attemptsCleared(keys);
    if (keys.length === 0) return;
    return this.shared(
      async () => void (await this.redis.del(...this.attemptKeys(keys))),
      () => undefined,
    );
  }

  private attemptKeys(keys: readonly string[]): string[] {
    return keys.map((k) => `${this.prefix}pw:${k}`);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.local.close();
  }
}
