// The gateway's own WebSocket framing (one buffer per event, written to every recipient): what it
// builds is what a WebSocket client reads, at every payload-length encoding of RFC 6455 §5.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ws from 'ws';
import { textFrame } from '../src/realtime/connection.js';

// `ws` exports its frame parser without declaring it in its types.
const { Receiver } = ws as unknown as {
  Receiver: new (opts: { isServer: boolean; maxPayload: number }) => NodeJS.WritableStream & {
    on(ev: 'message', fn: (data: Buffer, isBinary: boolean) => void): void;
    on(ev: 'error', fn: (e: Error) => void): void;
  };
};

function parse(frame: Buffer): Promise<{ text: string; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const r = new Receiver({ isServer: false, maxPayload: 0 });
    r.on('message', (data, isBinary) => resolve({ text: data.toString('utf8'), isBinary }));
    r.on('error', reject);
    r.write(frame);
  });
}

test('text frames of every length encoding read back whole, multi-byte characters included', async () => {
  for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
    const text = 'x'.repeat(n);
    const frame = textFrame(text);
    const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
    assert.equal(frame.length, head + n, `header of a ${n}-byte payload`);
    assert.deepEqual(await parse(frame), { text, isBinary: false });
  }
  const text = JSON.stringify({ event: 'x', nick: 'héllo ✓ 😀'.repeat(20) });
  assert.deepEqual(await parse(textFrame(text)), { text, isBinary: false });
});
