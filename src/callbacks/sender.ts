// One delivery over HTTP: POST the JSON body and accept the answer only as Tencent documents it:
// HTTP 200 with a JSON body whose ErrorCode is 0. Connections are kept alive and pooled per
// receiver (as Tencent's callbacks use persistent connections); the relay sends one request per
// event, so the client is a small one made for that (http-post.ts).
import type { PrivateAddresses } from './address-policy.js';
import { HttpPoster, PostError } from './http-post.js';
import { JSON_TYPE } from '../http/json-type.js';

const MAX_ANSWER_BYTES = 64 * 1024;

export type SendResult = { ok: true } | { ok: false; error: string };

export class CallbackSender {
  private readonly poster: HttpPoster;

  /**
   * `timeoutMs` bounds the whole delivery: connecting, then the complete answer, within one
   * deadline (an answer that keeps trickling in is cut off at it); `privateAddresses` is
   * callbacks.privateAddresses (deny: no connection to an internal address).
   */
  constructor(
    private readonly timeoutMs: number,
    privateAddresses: PrivateAddresses = 'allow',
  ) {
    this.poster = new HttpPoster(timeoutMs, MAX_ANSWER_BYTES, undefined, privateAddresses);
  }

  async send(url: string, body: string): Promise<SendResult> {
    let status: number;
    let answerBytes: Buffer;
    try {
      ({ status, body: answerBytes } = await this.poster.post(url, body, JSON_TYPE, 'rostrum-callbacks'));
    } catch (e) {
      if (e instanceof PostError && e.timeout) return { ok: false, error: `no answer within ${this.timeoutMs} ms` };
      const err = e as { code?: string; message?: string };
      return { ok: false, error: err.message || err.code || 'connection failed' };
    }
    if (status !== 200) return { ok: false, error: `HTTP ${status}` };
    let answer: unknown;
    try {
      answer = JSON.parse(answerBytes.toString('utf8'));
    } catch {
      return { ok: false, error: 'answer is not JSON' };
    }
    const code = (answer as { ErrorCode?: unknown } | null)?.ErrorCode;
    if (code === 0 || code === '0') return { ok: true };
    return { ok: false, error: `ErrorCode ${JSON.stringify(code ?? null)}` };
  }

  /** Connections to receivers open or being opened. */
  get openConnections(): number {
    return this.poster.openConnections;
  }

  async close(): Promise<void> {
    this.poster.close();
  }
}
