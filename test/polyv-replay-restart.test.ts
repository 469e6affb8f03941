// A captured Polyv request stays refused after the server restarts: the signs seen are kept in
// the store for their timestamp window (SQLite file or PostgreSQL, per the suite's store).
import { test } from 'node:test';
import { startTestServer, tempData } from './support/harness.js';
import { assertError, createRoom, ok, polyvCall } from './support/polyv.js';

test('a request replayed after a restart is refused (invalid timestamp.)', async () => {
  const data = tempData();
  try {
    const first = await startTestServer({ data });
    const port = first.server.port;
    await createRoom(first, 'replay-room');
    const kick = await polyvCall(first.url, '/live/v4/chat/channel/forbid/kick-users', { channelId: 'replay-room' }, { json: { viewerIds: ['v1'], nickNames: ['n1'] } });
    ok(kick);
    const list = await polyvCall(first.url, '/live/v3/channel/chat/list-kicked', { channelId: 'replay-room' });
    ok(list);
    await first.close();

    // Same port, so the captured URLs are sent as they were.
    const second = await startTestServer({ data, port });
    try {
      // fetch may still hold a kept-alive socket to the first server: one request retires it.
      await fetch(`${second.url}/healthz`).catch(() => undefined);
      assertError(await list.again(), 400, 'invalid timestamp.');
      assertError(await kick.again(), 400, 'invalid timestamp.');
      // A fresh request still works.
      ok(await polyvCall(second.url, '/live/v3/channel/chat/list-kicked', { channelId: 'replay-room' }));
    } finally {
      await second.close();
    }
  } finally {
    await data.remove();
  }
});
