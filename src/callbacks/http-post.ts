// A small HTTP/1.1 client for callback deliveries: one POST at a time per connection, kept-alive
// connections pooled per origin. Profiles put undici's request path at about three times the CPU
// of writing the request and reading the short answer directly on the socket; a delivery is one
// request and one small answer, which is all this handles (no redirects, no upgrades, no proxies).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { deniedAddressMessage, hostOf, isPrivateAddress, type PrivateAddresses } from './address-policy.js';

export interface PostAnswer {
  status: number;
  body: Buffer;
}

/** Why a POST got no complete answer; `timeout` when it came too late. */
export class PostError extends Error {
  constructor(
    message: string,
    readonly timeout = false,
  ) {
    super(message);
  }
}

interface Target {
  key: string;
  tls: boolean;
  host: string;
  port: number;
  /** Request line and fixed headers up to content-length's value. */
  head: string;
}

const IDLE_PER_ORIGIN = 16;
const MAX_HEAD_BYTES = 16 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

/** A kept-alive connection with its listeners set once; `exchange` is the request on it, if any. */
interface Conn {
  socket: Socket;
  key: string;
  exchange: Exchange | null;
  idleSince: number;
}

interface Exchange {
  buf: Buffer;
  head: Head | null;
  received: boolean;
  /** Fires at the post's deadline; never refreshed, however the answer comes (a trickle too). */
  timer: NodeJS.Timeout;
  resolve: (a: PostAnswer) => void;
  reject: (e: Error) => void;
}

export class HttpPoster {
  private readonly idle = new Map<string, Conn[]>();
  private readonly all = new Set<Conn>();
  private lastUrl = '';
  private lastTarget: Target | null = null;
  private closed = false;
  private sweeper: NodeJS.Timeout | null = null;

  /**
   * `timeoutMs` bounds each post as a whole: connecting (when no kept-alive connection is
   * ready), writing the request and reading the complete answer share one deadline, never
   * extended by bytes arriving; `maxAnswerBytes` bounds the body. Connections idle longer than `idleTimeoutMs` close.
   * With `privateAddresses` = 'deny', a connection goes only to addresses outside the private
   * ranges (address-policy.ts): those a name resolves to are filtered before the connection
   * tries them (permittedLookup).
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly maxAnswerBytes: number,
    private readonly idleTimeoutMs = 30_000,
    private readonly privateAddresses: PrivateAddresses = 'allow',
  ) {}

  async post(url: string, body: string, contentType: string, userAgent: string): Promise<PostAnswer> {
    if (this.closed) throw new PostError('closed');
    const t = this.targetOf(url, contentType, userAgent);
    // One string, one write: the socket encodes it straight into its write request.
    const bytes = `${t.head}${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // One deadline for the whole post, a retry on a new connection included.
    const deadline = Date.now() + this.timeoutMs;
    const reused = this.takeIdle(t);
    if (reused) {
      try {
        return await this.send(reused, bytes, deadline);
      } catch (err) {
        // The receiver closed a kept-alive connection as it was reused: once more on a new one
        // (the receiver saw no complete request, or drops the repeat by its EventId).
        if (!(err instanceof StaleConnection)) throw err;
      }
    }
    return this.send(await this.open(t, deadline), bytes, deadline);
  }

  /** Connections open or being opened (in flight, idle in the pool, or connecting). */
  get openConnections(): number {
    return this.all.size;
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.socket.destroy();
    this.idle.clear();
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private targetOf(url: string, contentType: string, userAgent: string): Target {
    if (url === this.lastUrl && this.lastTarget) return this.lastTarget;
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PostError(`unsupported protocol ${u.protocol}`);
    const tls = u.protocol === 'https:';
    const host = hostOf(u);
    const port = u.port ? Number(u.port) : tls ? 443 : 80;
    const head =
      `POST ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\nconnection: keep-alive\r\n` +
      `content-type: ${contentType}\r\nuser-agent: ${userAgent}\r\ncontent-length: `;
    const t = { key: `${u.protocol}//${u.host}`, tls, host, port, head };
    this.lastUrl = url;
    this.lastTarget = t;
    return t;
  }

  private takeIdle(t: Target): Conn | null {
    const list = this.idle.get(t.key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (!c.socket.destroyed && c.socket.writable) return c;
    }
    return null;
  }

  private putIdle(c: Conn): void {
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    if (this.closed || list.length >= IDLE_PER_ORIGIN) return void c.socket.destroy();
    c.idleSince = Date.now();
    list.push(c);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(1000, this.idleTimeoutMs / 3));
      this.sweeper.unref();
    }
  }

  /** Closes connections idle too long. */
  private sweep(): void {
    const before = Date.now() - this.idleTimeoutMs;
    for (const [key, list] of this.idle) {
      const keep = list.filter((c) => c.idleSince > before && !c.socket.destroyed);
      for (const c of list) if (!keep.includes(c)) c.socket.destroy();
      if (keep.length > 0) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }

  private open(t: Target, deadline: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new PostError('closed'));
      let opening: Conn | null = null;
      const timer = setTimeout(() => fail(this.timedOut()), Math.max(0, deadline - Date.now()));
      timer.unref();
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (opening) {
          // Never connected: its close listener is not set yet, so it leaves the set here.
          opening.socket.destroy();
          this.all.delete(opening);
        }
        reject(err instanceof PostError ? err : new PostError(err.message || 'connection failed'));
      };
      const deny = this.privateAddresses === 'deny';
      if (deny && isIP(t.host) && isPrivateAddress(t.host)) return fail(new PostError(deniedAddressMessage(t.host, t.host)));
      // Node resolves a name and tries its addresses in turn (IPv6 and IPv4 alike); under deny,
      // only the permitted ones.
      const lookup = deny ? PERMITTED_LOOKUP : undefined;
      const sock = t.tls
        ? tlsConnect({ host: t.host, port: t.port, lookup, servername: isIP(t.host) ? undefined : t.host, ALPNProtocols: ['http/1.1'] })
        : netConnect({ host: t.host, port: t.port, lookup });
      sock.unref(); // a delivery in flight does not keep the process up by itself
      const c: Conn = { socket: sock, key: t.key, exchange: null, idleSince: 0 };
      opening = c;
      this.all.add(c);
      sock.once('error', fail);
      sock.once(t.tls ? 'secureConnect' : 'connect', () => {
        opening = null;
        clearTimeout(timer);
        sock.removeListener('error', fail);
        sock.setNoDelay(true);
        sock.on('data', (chunk: Buffer) => this.onData(c, chunk));
        sock.on('error', (err: Error) => this.end(c, err));
        sock.on('close', () => this.onClose(c));
        resolve(c);
      });
    });
  }

  private timedOut(): PostError {
    return new PostError(`no answer within ${this.timeoutMs} ms`, true);
  }

  /**
   * Writes one request and reads its answer, all of it by `deadline` (ms): the connection closes
   * then, whatever has come. The connection goes back to the pool when it may.
   */
  private send(c: Conn, request: string, deadline: number): Promise<PostAnswer> {
    return new Promise((resolve, reject) => {
      const left = deadline - Date.now();
      if (left <= 0) {
        // Connecting took it all: the connection is kept for the next post.
        this.putIdle(c);
        return reject(this.timedOut());
      }
      const timer = setTimeout(() => c.exchange === x && this.end(c, this.timedOut()), left);
      timer.unref();
      const x: Exchange = { buf: EMPTY, head: null, received: false, timer, resolve, reject };
      c.exchange = x;
      c.socket.write(request, 'utf8');
    });
  }

  /** Settles the exchange on `c` with an error (the connection closes), if one is open. */
  private end(c: Conn, err: Error): void {
    const x = c.exchange;
    c.exchange = null;
    c.socket.destroy();
    if (!x) return;
    clearTimeout(x.timer);
    if (err instanceof PostError) x.reject(err);
    else x.reject(x.received ? new PostError(err.message || 'connection failed') : new StaleConnection(err.message || 'connection failed'));
  }

  private onClose(c: Conn): void {
    this.all.delete(c);
    const x = c.exchange;
    if (!x) return;
    // Without a length, the body is everything up to the close.
    if (x.head && x.head.length < 0 && !x.head.chunked) return this.answer(c, x, { body: x.buf.subarray(x.head.at), end: x.buf.length }, false);
    this.end(c, x.received ? new PostError('connection closed before the whole answer') : new StaleConnection('connection closed before an answer'));
  }

  private onData(c: Conn, chunk: Buffer): void {
    const x = c.exchange;
    if (!x) return void c.socket.destroy(); // bytes nobody asked for: this connection is not to be trusted
    x.received = true;
    x.buf = x.buf.length === 0 ? chunk : Buffer.concat([x.buf, chunk]);
    try {
      for (;;) {
        if (!x.head) {
          const end = x.buf.indexOf(CRLF2);
          if (end < 0) {
            if (x.buf.length > MAX_HEAD_BYTES) throw new PostError('answer headers too large');
            return;
          }
          const h = parseHead(x.buf.toString('latin1', 0, end), end + 4);
          if (h.status >= 100 && h.status < 200) {
            x.buf = x.buf.subarray(end + 4); // an interim answer (100 Continue): the real one follows
            continue;
          }
          x.head = h;
        }
        const body = readBody(x.buf, x.head, this.maxAnswerBytes);
        if (body === null) return;
        if (body === 'too large') throw new PostError('answer too large');
        return this.answer(c, x, body, !x.head.close && body.end === x.buf.length);
      }
    } catch (err) {
      this.end(c, err instanceof PostError ? err : new PostError(String(err)));
    }
  }

  private answer(c: Conn, x: Exchange, body: { body: Buffer; end: number }, keep: boolean): void {
    c.exchange = null;
    clearTimeout(x.timer);
    if (keep) this.putIdle(c);
    else c.socket.destroy();
    x.resolve({ status: x.head!.status, body: body.body });
  }
}

const EMPTY = Buffer.alloc(0);

type Resolve = (hostname: string, options: { all: true; family?: number; hints?: number }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A connection's lookup under deny: the addresses a name resolves to outside the denied ranges,
 * in the resolver's order, or an error naming the first denied one when none is left. The
 * connection goes to exactly these, so a name that resolves differently a moment later (DNS
 * rebinding) cannot lead it elsewhere. `resolve` is dns.lookup but in tests.
 */
export function permittedLookup(resolve: Resolve = dnsLookup as Resolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family as number | undefined, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(new PostError(`cannot resolve ${hostname}: ${err.code ?? err.message}`), '', 0);
      const allowed = addresses.filter((a) => !isPrivateAddress(a.address));
      if (allowed.length === 0) {
        const why = addresses.length === 0 ? `cannot resolve ${hostname}: no address` : deniedAddressMessage(addresses[0].address, hostname);
        return callback(new PostError(why), '', 0);
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0].address, allowed[0].family);
    });
  };
}

const PERMITTED_LOOKUP = permittedLookup();

/** The write went to a connection the receiver had closed: nothing of an answer came. */
class StaleConnection extends PostError {}

interface Head {
  status: number;
  /** -1: chunked, or up to the close. */
  length: number;
  chunked: boolean;
  close: boolean;
  /** Where the body starts in the buffer. */
  at: number;
}

function parseHead(text: string, at: number): Head {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
  if (!m) throw new PostError('answer is not HTTP/1.x');
  let length = -1;
  let chunked = false;
  let close = m[1] === '0';
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i].indexOf(':');
    if (c < 0) continue;
    const name = lines[i].slice(0, c).trim().toLowerCase();
    const value = lines[i].slice(c + 1).trim().toLowerCase();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new PostError('bad content-length in the answer');
      length = Number(value);
    } else if (name === 'transfer-encoding') chunked = value.split(',').pop()!.trim() === 'chunked';
    else if (name === 'connection') close = value.includes('close') ? true : value.includes('keep-alive') ? false : close;
  }
  const status = Number(m[2]);
  // Answers that never have a body.
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) length = 0;
  else if (chunked) length = -1;
  else if (length < 0) close = true; // the body runs to the connection's end
  return { status, length, chunked, close, at };
}

/** The body once complete (and where the answer ends in buf), null while more is to come. */
function readBody(
  buf: Buffer,
  head: Head,
  max: number,
): { body: Buffer; end: number } | null | 'too large' {
  if (!head.chunked) {
    if (head.length < 0) return buf.length - head.at > max ? 'too large' : null; // to the close
    if (head.length > max) return 'too large';
    const end = head.at + head.length;
    return buf.length >= end ? { body: buf.subarray(head.at, end), end } : null;
  }
  const parts: Buffer[] = [];
  let size = 0;
  let i = head.at;
  for (;;) {
    const eol = buf.indexOf('\r\n', i, 'latin1');
    if (eol < 0) return buf.length - i > 1024 ? 'too large' : null;
    const n = parseInt(buf.toString('latin1', i, eol).split(';')[0].trim(), 16);
    if (!Number.isFinite(n) || n < 0) throw new PostError('bad chunk in the answer');
    if (n === 0) {
      // Trailers (normally none) end with an empty line.
      const end = buf.indexOf(CRLF2, eol);
      if (buf.length >= eol + 4 && buf[eol + 2] === 13 && buf[eol + 3] === 10) return { body: Buffer.concat(parts), end: eol + 4 };
      return end < 0 ? null : { body: Buffer.concat(parts), end: end + 4 };
    }
    size += n;
    if (size > max) return 'too large';
    if (buf.length < eol + 2 + n + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    i = eol + 2 + n + 2;
  }
}
