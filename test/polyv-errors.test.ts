// The Polyv error table: every core error kind answers a documented code and message, and an
// unexpected failure answers 500 "api error." in the envelope (never a crash page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomError, type ErrorKind } from '../src/core/errors.js';
import { fromRoomError, statusOf } from '../src/dialects/polyv/errors.js';
import { startTestServer } from './support/harness.js';
import { assertError, createRoom, polyvClient, type PolyvAnswer } from './support/polyv.js';

const KINDS: Record<ErrorKind, [number, string]> = {
  InvalidParam: [400, 'param length is incorrect: viewerIds'],
  RoomNotFound: [404, 'channel not found.'],
  RoomExists: [500, 'illegal operation'],
  BadWord: [500, 'access forbidden'],
  NotMember: [500, 'illegal operation'],
  PermissionDenied: [500, 'access forbidden'],
  SeatsDisabled: [500, 'illegal operation'],
  SeatLocked: [500, 'illegal operation'],
  SeatOccupied: [500, 'illegal operation'],
  SeatsFull: [500, 'illegal operation'],
  AlreadyOnSeat: [500, 'illegal operation'],
  NotOnSeat: [500, 'illegal operation'],
  AlreadyRequested: [500, 'illegal operation'],
  RequestNotFound: [500, 'illegal operation'],
  RoomFull: [500, 'illegal operation'],
  WrongPassword: [500, 'access forbidden'],
  DeniedUser: [500, 'access forbidden'],
  DeniedIp: [500, 'access forbidden'],
  Muted: [500, 'access forbidden'],
  MessagesDisabled: [500, 'access forbidden'],
  PasswordAttemptsExceeded: [500, 'access forbidden'],
};

test('every core error kind maps to a documented answer; business refusals are 500 "fail"', () => {
  for (const [kind, [code, message]] of Object.entries(KINDS) as [ErrorKind, [number, string]][]) {
    const e = fromRoomError(new RoomError(kind, 'core text', 'userIds'), { userIds: 'viewerIds' });
    assert.deepEqual([e.code, e.message], [code, message], kind);
  }
  // a bad room id names a channel that cannot exist; an unmapped field keeps its core name
  assert.equal(fromRoomError(new RoomError('InvalidParam', 'too long', 'roomId')).message, 'channel not found.');
  assert.equal(fromRoomError(new RoomError('InvalidParam', 'too long', 'text'), { text: 'msg' }).message, 'param length is incorrect: msg');
  assert.equal(fromRoomError(new RoomError('InvalidParam', 'too long', 'ip')).message, 'param length is incorrect: ip');
  assert.deepEqual([statusOf(200), statusOf(400), statusOf(403), statusOf(404), statusOf(500)], ['success', 'error', 'error', 'error', 'fail']);
});

test('an unexpected failure answers 500 fail "api error." in the envelope', async () => {
  const s = await startTestServer();
  try {
    await createRoom(s, 'r1');
    // Every store read fails from now on, with a non-domain error. (Closing the store would not
    // do: a store serving reads from memory may still answer them.)
    s.server.store.read = () => Promise.reject(new Error('store unavailable'));
    const a = await polyvClient(s)('/live/v3/channel/chat/count-online-user', { channelId: 'r1' });
    assert.deepEqual({ http: a.httpStatus, code: a.code, status: a.status, message: a.message, data: a.data }, {
      http: 500,
      code: 500,
      status: 'fail',
      message: 'api error.',
      data: '',
    });
  } finally {
    await s.close();
  }
});

test('a {channelId} in the path that cannot be a channel answers channel not found., at any length (past the router\'s 100 too)', async () => {
  const s = await startTestServer();
  try {
    const polyv = polyvClient(s);
    await createRoom(s, 'r1');
    const b64 = Buffer.from('hi').toString('base64url');
    const endpoints: [string, (id: string) => string, Record<string, string>][] = [
      ['delChat', (id) => `/live/v2/chat/${id}/delChat`, { id: 'm1' }],
      ['cleanChat', (id) => `/live/v2/chat/${id}/cleanChat`, {}],
      ['addBannedIP', (id) => `/live/v2/chat/${id}/addBannedIP`, { ip: '10.0.0.1' }],
      ['delBanned', (id) => `/live/v2/chat/${id}/delBanned`, { type: 'ip', content: '10.0.0.1' }],
      ['send-chat', (id) => `/live/v1/channelSetting/${id}/send-chat`, { userId: 'u1', content: b64 }],
    ];
    const shown = (a: PolyvAnswer) => `${a.httpStatus} ${a.message}`;
    // over 48 bytes: 49 and 100 characters, 101 and more, and 150 bytes written as 450 characters of escapes
    const ids = ['c'.repeat(49), 'c'.repeat(100), 'c'.repeat(101), 'c'.repeat(300), 'c'.repeat(4000), encodeURIComponent('中'.repeat(50))];
    for (const [name, url, params] of endpoints) {
      for (const id of ids) {
        for (const method of ['GET', 'POST'] as const) {
          assertError(await polyv(url(id), params, { method }), 404, 'channel not found.');
        }
      }
      // the endpoint's other checks come first, as for a short id: the signature, the parameters
      const long = url('c'.repeat(300));
      assert.equal(shown(await polyv(long, params, { sign: 'F'.repeat(32) })), shown(await polyv(url('r1'), params, { sign: 'F'.repeat(32) })), name);
      if (Object.keys(params).length > 0) {
        assert.equal(shown(await polyv(long, {})), shown(await polyv(url('r1'), {})), name);
      }
    }
    // a long segment in a path no endpoint has is still an unknown API
    assertError(await polyv(`/live/v2/chat/${'c'.repeat(300)}/nothing`, {}), 404, 'api not found.');
    assertError(await polyv(`/live/v2/chat/${'c'.repeat(300)}/delChat/more`, { id: 'm1' }), 404, 'api not found.');
    // addBadWords' {userId} (the Polyv account) is read the same way at any length
    const badWords = (userId: string) => polyv(`/live/v2/chat/${userId}/addBadWords`, { words: '["w"]' });
    assert.equal(shown(await badWords('u'.repeat(300))), shown(await badWords('u'.repeat(50))));
  } finally {
    await s.close();
  }
});
