// A keep-alive HTTP POST for the drivers: node:http with one agent, so that a driver's sockets
// stay open between requests like a load generator's would.
import { Agent, request } from 'node:http';

/**
 * Idle sockets close on the client's side after this, before Rostrum's own 5 s keep-alive
 * timeout: a socket reused just as the server closes it fails with ECONNRESET (node:http's
 * agent does not keep clear of the server's timeout by itself; proxies and undici do).
 */
const IDLE_CLOSE_MS = 4_000;

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, timeout: IDLE_CLOSE_MS });
}

/** POSTs `body` (JSON) and resolves with the response body; rejects on a non-200 status. */
export function post(agent: Agent, port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
