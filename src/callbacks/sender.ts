// One delivery over HTTP: POST the JSON body, wait at most `timeoutMs` for the whole answer, and
// accept it only as Tencent documents: HTTP 200 with a JSON body whose ErrorCode is 0.
// Keep-alive agents: a receiver gets persistent connections, as Tencent's callbacks use.
import http from 'node:http';
import https from 'node:https';

const MAX_ANSWER_BYTES = 64 * 1024;

export type SendResult = { ok: true } | { ok: false; error: string };

export class CallbackSender {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(private readonly timeoutMs: number) {}

  send(url: string, body: string): Promise<SendResult> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: SendResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return finish({ ok: false, error: 'invalid callback URL' });
      }
      const secure = u.protocol === 'https:';
      const req = (secure ? https : http).request(u, {
        method: 'POST',
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'user-agent': 'rostrum-callbacks' },
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish({ ok: false, error: `no answer within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      req.on('error', (e) => finish({ ok: false, error: e.message || 'connection failed' }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            finish({ ok: false, error: 'answer too large' });
          } else chunks.push(c);
        });
        res.on('error', (e) => finish({ ok: false, error: e.message }));
        res.on('end', () => {
          if (res.statusCode !== 200) return finish({ ok: false, error: `HTTP ${res.statusCode}` });
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return finish({ ok: false, error: 'answer is not JSON' });
          }
          const code = (answer as { ErrorCode?: unknown } | null)?.ErrorCode;
          if (code === 0 || code === '0') return finish({ ok: true });
          finish({ ok: false, error: `ErrorCode ${JSON.stringify(code ?? null)}` });
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
