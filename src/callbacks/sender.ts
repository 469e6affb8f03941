// One delivery over HTTP: POST the JSON body and accept the answer only as Tencent documents it:
// HTTP 200 with a JSON body whose ErrorCode is 0. undici's pooled keep-alive connections (a
// receiver gets persistent connections, as Tencent's callbacks use) cost far less CPU per request
// than node:http, and the relay sends one request per event.
import { Agent, request } from 'undici';

const MAX_ANSWER_BYTES = 64 * 1024;

export type SendResult = { ok: true } | { ok: false; error: string };

export class CallbackSender {
  private readonly agent: Agent;

  /** `timeoutMs` bounds connecting, then the answer's headers, then its body. */
  constructor(private readonly timeoutMs: number) {
    this.agent = new Agent({
      connections: 16,
      keepAliveTimeout: 30_000,
      connect: { timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  async send(url: string, body: string): Promise<SendResult> {
    try {
      const res = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'rostrum-callbacks' },
        dispatcher: this.agent,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          return { ok: false, error: 'answer too large' };
        }
        chunks.push(chunk as Buffer);
      }
      if (res.statusCode !== 200) return { ok: false, error: `HTTP ${res.statusCode}` };
      let answer: unknown;
      try {
        answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return { ok: false, error: 'answer is not JSON' };
      }
      const code = (answer as { ErrorCode?: unknown } | null)?.ErrorCode;
      if (code === 0 || code === '0') return { ok: true };
      return { ok: false, error: `ErrorCode ${JSON.stringify(code ?? null)}` };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT' || err.code === 'UND_ERR_CONNECT_TIMEOUT') {
        return { ok: false, error: `no answer within ${this.timeoutMs} ms` };
      }
      return { ok: false, error: err.message || err.code || 'connection failed' };
    }
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }
}
