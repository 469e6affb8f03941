// Raw HTTP over a TCP socket: requests a client library would refuse or normalise (a bad
// percent-escape, any method, a path in any case) go out byte for byte.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Sends `request` (a whole HTTP/1.1 request) and reads until the server closes. */
export function rawRequest(port: number, request: string, timeoutMs = 20_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.split('\r\n')[0]}`));
    }, timeoutMs);
    socket.on('data', (d) => (out += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const [head, ...rest] = out.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: rest.join('\r\n\r\n') });
    });
    socket.write(request);
  });
}

/** A request line plus the headers a body needs; `Connection: close` so the answer ends. */
export function rawGet(method: string, target: string, body = ''): string {
  return `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
