// A callback receiver on a loopback port: records every delivery with its query and body, checks
// each signature as docs/webhooks.md tells receivers to, and can be switched down (HTTP 503),
// dead (never answers) or up.
import { createServer, type Server } from 'node:http';
import { after } from 'node:test';
import { verifyCallback } from '../../src/callbacks/sign.js';

export interface Received {
  /** The request target as sent (path and query, byte for byte). */
  target: string;
  query: URLSearchParams;
  body: any;
  /** Signature and freshness as the receiver sees them (true when no token is expected). */
  verified: boolean;
}

export type Mode = 'up' | 'down' | 'dead';

export interface Receiver {
  url: string;
  mode: Mode;
  /** Accepted deliveries, in arrival order (duplicates included). */
  accepted: Received[];
  /** Every request, accepted or not. */
  attempts: number;
  /** When set, a delivery whose body it holds true for is refused (HTTP 503), whatever the mode. */
  refuse?: (body: any) => boolean;
  /** Each answer waits this long (ms): deliveries overlap when the relay sends them in parallel. */
  delayMs: number;
  /** Requests whose answer is being held now (delayMs), and the most there were at once. */
  inFlight: number;
  maxInFlight: number;
  /** Accepted bodies without repeats (by EventId), as a receiver keeps them. */
  unique(): any[];
  close(): Promise<void>;
}

export async function startReceiver(token?: string, path = '/callback'): Promise<Receiver> {
  const hanging = new Set<import('node:http').ServerResponse>();
  const r: Receiver = {
    url: '',
    mode: 'up',
    accepted: [],
    attempts: 0,
    delayMs: 0,
    inFlight: 0,
    maxInFlight: 0,
    unique() {
      const seen = new Set<string>();
      return r.accepted.filter((x) => !seen.has(x.body.EventId) && seen.add(x.body.EventId)).map((x) => x.body);
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      r.attempts++;
      if (r.mode === 'dead') return void hanging.add(res);
      if (r.delayMs > 0) {
        r.maxInFlight = Math.max(r.maxInFlight, ++r.inFlight);
        await new Promise((resolve) => setTimeout(resolve, r.delayMs));
        r.inFlight--;
      }
      if (r.mode === 'down') return void res.writeHead(503).end('down');
      const query = new URL(req.url!, 'http://x').searchParams;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (r.refuse?.(body)) return void res.writeHead(503).end('refused');
      r.accepted.push({ target: req.url!, query, body, verified: token ? verifyCallback(query, token) : true });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`;
  return r;
}

/** Waits until `cond` holds (generous deadline: the machine may be loaded). */
/** A function starting receivers that close when the test file ends. */
export function receiversClosedAfter(): (token?: string) => Promise<Receiver> {
  const started: Receiver[] = [];
  after(async () => {
    for (const r of started) await r.close();
  });
  return async (token) => {
    const r = await startReceiver(token);
    started.push(r);
    return r;
  };
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
