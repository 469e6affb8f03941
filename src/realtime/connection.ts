// One authenticated client socket: what it has entered, its requests (run one at a time, in
// order) and its bounded send buffer.
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { AppId } from '../core/model.js';
import { CLOSE } from './protocol.js';

/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Requests waiting on one connection beyond which new ones are refused. */
export const MAX_PENDING_REQUESTS = 256;
/**
 * Bytes of frames waiting on one connection beyond which new ones are refused: 256 frames of
 * up to 64 KiB each, parsed, would hold tens of megabytes for one socket.
 */
export const MAX_PENDING_BYTES = 256 * 1024;

/**
 * One complete WebSocket text frame of `text` (final, unmasked, as a server sends; RFC 6455
 * §5.2), header and payload in one buffer. An event is framed once and the same bytes are
 * written to every recipient's socket, instead of `ws.send` framing it again per socket.
 */
export function textFrame(text: string): Buffer {
  const n = Buffer.byteLength(text);
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81; // FIN, text
  if (n < 126) frame[1] = n;
  else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  frame.write(text, head);
  return frame;
}

export class Connection {
  /** Rooms (of `appId`) this connection has entered and not left. */
  readonly rooms = new Set<string>();
  /** Set by any frame or pong from the client; cleared by each heartbeat tick. */
  alive = true;
  /** Closed or being closed: no more requests run, no more frames are sent. */
  ended = false;
  /** How it ended: the close code received or sent (1006 when the socket just dropped). */
  closeCode = 0;
  /** The client ended it with a close frame (any code but 4000): it meant to leave, not dropped. */
  closedByClient = false;
  private pending = 0;
  private pendingBytes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The socket under `ws`. Writing whole frames to it directly is safe: without compression
   * `ws` itself writes every frame synchronously, so frames never interleave.
   */
  private readonly socket: Duplex;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly appId: AppId,
    readonly userId: string,
    readonly clientIp: string,
    /** When the UserSig it connected with expires, ms. */
    readonly sigExpiresAt: number,
    private readonly maxBufferedBytes: number,
    /** Called once the connection is over, whatever ended it. */
    private readonly onEnd: (conn: Connection) => void,
  ) {
    this.socket = (ws as unknown as { _socket: Duplex })._socket;
    ws.on('close', (code) => {
      if (this.closeCode === 0) {
        this.closeCode = code;
        // A client closing with 4000 gave up a socket it could not hear from: a drop, like 1006.
        this.closedByClient = code !== 1006 && code !== CLOSE.heartbeatTimeout;
      }
      this.end();
    });
  }

  /**
   * Sends one frame made by `textFrame`. A client whose unsent backlog would go over the limit
   * is dropped instead: it must never hold up the others. (Into an empty buffer any frame goes.)
   */
  send(frame: Buffer): void {
    if (this.ended || this.ws.readyState !== WebSocket.OPEN) return;
    const backlog = this.ws.bufferedAmount;
    if (backlog > 0 && backlog + frame.length > this.maxBufferedBytes) {
      this.drop(CLOSE.slowConsumer, 'slow consumer');
      return;
    }
    this.socket.write(frame);
  }

  /**
   * Runs `task` (made from a frame of `bytes`) after the connection's earlier requests; false
   * when too many, or too many bytes, are waiting (a request alone always gets in).
   */
  enqueue(task: () => Promise<void>, bytes = 0): boolean {
    if (this.pending >= MAX_PENDING_REQUESTS) return false;
    if (this.pending > 0 && this.pendingBytes + bytes > MAX_PENDING_BYTES) return false;
    this.pending++;
    this.pendingBytes += bytes;
    this.queue = this.queue.then(async () => {
      try {
        if (!this.ended) await task();
      } catch {
        // the task reports its own failures; the queue must go on
      } finally {
        this.pending--;
        this.pendingBytes -= bytes;
      }
    });
    return true;
  }

  /** Runs `task` once every request already queued is done (never rejects). */
  afterQueue(task: () => Promise<void>): Promise<void> {
    const done = this.queue.then(task).catch(() => undefined);
    this.queue = done;
    return done;
  }

  /** Closes with `code` (best effort: the peer may be gone or not reading) and ends now. */
  drop(code: number, reason: string): void {
    if (this.closeCode === 0) this.closeCode = code;
    closeWithGrace(this.ws, code, reason);
    this.end();
  }

  /** Abruptly destroys the socket, as a network failure would. */
  terminate(): void {
    if (this.closeCode === 0) this.closeCode = 1006;
    this.ws.terminate();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
  }
}

/** Starts the close handshake and destroys the socket if it has not finished in a moment. */
export function closeWithGrace(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  if (ws.readyState === WebSocket.OPEN) ws.close(code, truncateUtf8(reason, 123));
  const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/** A close reason may be at most 123 bytes. */
function truncateUtf8(s: string, maxBytes: number): string {
  let out = s.slice(0, maxBytes); // every character is at least one byte
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}
