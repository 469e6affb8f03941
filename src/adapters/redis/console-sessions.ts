// Console sessions in Redis, shared by the nodes of a cluster: an operator signed in through one
// node is signed in on all of them. The key is a hash of the session id and the value holds
// neither the id nor the CSRF token (derived from the id), so what Redis holds cannot be
// replayed as a cookie; each key expires with its session.
import { createHash } from 'node:crypto';
import { csrfFor, type Session, type SessionStore } from '../../console/sessions.js';
import { connectRedis, openRedis, parseRedisUrl, type Redis } from './client.js';

/** What Redis keeps of a session. */
type Held = Pick<Session, 'appId' | 'identifier' | 'expiresAt'>;

export class RedisSessionStore implements SessionStore {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static async open(busUrl: string): Promise<RedisSessionStore> {
    const { url, prefix } = parseRedisUrl(busUrl);
    const redis = openRedis(url, 'console');
    // Like the bus: the start waits for Redis; afterwards ioredis reconnects by itself.
    await connectRedis(redis);
    return new RedisSessionStore(redis, `${prefix}:console:session:`);
  }

  private key(id: string): string {
    return this.prefix + createHash('sha256').update(id).digest('base64url');
  }

  async put(s: Session): Promise<void> {
    const ttl = Math.max(1, s.expiresAt - Date.now());
    const held: Held = { appId: s.appId, identifier: s.identifier, expiresAt: s.expiresAt };
    await this.redis.set(this.key(s.id), JSON.stringify(held), 'PX', ttl);
  }

  async get(id: string, now: number): Promise<Session | null> {
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return null;
    const held = JSON.parse(raw) as Held & { id?: string; csrf?: string };
    if (now >= held.expiresAt || (held.id !== undefined && held.id !== id)) return null;
    // An earlier release kept the id and a random token in the value: its sessions keep their token.
    return { id, appId: held.appId, identifier: held.identifier, csrf: held.csrf ?? csrfFor(id), expiresAt: held.expiresAt };
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  close(): void {
    this.redis.disconnect();
  }
}
