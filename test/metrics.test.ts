import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from './support/harness.js';

test('GET /metrics exposes request, event and connection figures in Prometheus text format', async () => {
  const s = await startTestServer();
  try {
    const r = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'm1', RoomType: 'Conference' } });
    assert.equal(r.ErrorCode, 0);
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /rostrum_events_total\{type="roomCreated"\} 1/);
    assert.match(text, /rostrum_http_requests_total\{route="\/v4\/:service\/:command",status="200"\} 1/);
    assert.match(text, /rostrum_realtime_connections 0/);
    assert.match(text, /rostrum_process_resident_memory_bytes \d+/);
    // Counts are totals across scrapes; a path no route serves is counted as unmatched.
    await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'm2', RoomType: 'Conference' } });
    assert.equal((await fetch(`${s.url}/nope`)).status, 404);
    const again = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(again, /rostrum_http_requests_total\{route="\/v4\/:service\/:command",status="200"\} 2/);
    assert.match(again, /rostrum_http_requests_total\{route="\/metrics",status="200"\} 1/);
    assert.match(again, /rostrum_http_requests_total\{route="unmatched",status="404"\} 1/);
  } finally {
    await s.close();
  }
});
