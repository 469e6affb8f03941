// The request log's line batcher: lines encoded into 64 KiB chunks, in order, whatever their
// characters and length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineBatcher } from '../src/http/request-log.js';

function sink() {
  const chunks: Buffer[] = [];
  let syncs = 0;
  return {
    chunks,
    syncs: () => syncs,
    file: {
      write(chunk: Buffer) {
        chunks.push(chunk); // kept as given: the file writes it later, so the batcher must not reuse it
        return true;
      },
      flushSync() {
        syncs++;
      },
    },
  };
}

test('lines come out whole and in order, in chunks of at most 64 KiB, multi-byte characters included', () => {
  const s = sink();
  const b = new LineBatcher(s.file);
  const lines = Array.from({ length: 2_000 }, (_, i) => `{"n":${i},"msg":"héllo wörld ✓ 😀 ${'x'.repeat(i % 97)}"}\n`);
  for (const l of lines) b.write(l);
  b.flush();
  assert.ok(s.chunks.length > 1, 'more than one chunk');
  for (const c of s.chunks) assert.ok(c.length <= 64 * 1024);
  assert.equal(Buffer.concat(s.chunks).toString('utf8'), lines.join(''));
});

test('a line longer than a chunk goes out on its own, after what came before it', () => {
  const s = sink();
  const b = new LineBatcher(s.file);
  const long = `${'é'.repeat(40_000)}\n`; // 80,000 bytes
  b.write('a\n');
  b.write(long);
  b.write('b\n');
  b.flushSync();
  assert.equal(Buffer.concat(s.chunks).toString('utf8'), `a\n${long}b\n`);
  assert.equal(s.syncs(), 1);
  b.flush(); // nothing left: no empty chunk
  assert.equal(Buffer.concat(s.chunks).toString('utf8'), `a\n${long}b\n`);
});
