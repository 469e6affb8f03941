// room_engine_http_srv/mute_room_member (MuteTime seconds, 0 = unmute) onto the core's chat mutes,
// end to end over HTTP against a real server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoomError } from '../src/core/errors.js';
import { Engine } from '../src/core/engine.js';
import { APP, asAdmin, asUser, enter, startTestServer, type TestServer } from './support/harness.js';
import { failed, ok, type Reply } from './support/tencent.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const srv = (command: string, body: unknown): Promise<Reply> => s.tencent(`room_engine_http_srv/${command}`, body);

async function speak(roomId: string, userId: string, engine?: Engine): Promise<string> {
  try {
    if (engine) await engine.execute(APP.sdkAppId, { kind: 'user', userId }, { type: 'sendMessage', roomId, text: 'hi' });
    else await asUser(s, userId, { type: 'sendMessage', roomId, text: 'hi' });
    return 'sent';
  } catch (e) {
    if (e instanceof RoomError) return e.kind;
    throw e;
  }
}

describe('mute_room_member', () => {
  it('mutes for MuteTime seconds, tells the member, and 0 unmutes', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 'm1', RoomType: 'Live' } }));
    await enter(s, 'm1', 'talker');
    await enter(s, 'm1', 'other');
    const told: unknown[] = [];
    const stop = s.server.bus.subscribe((e) => e.type === 'muteChanged' && told.push(e.data));
    const r = await srv('mute_room_member', { RoomId: 'm1', MemberList_Account: ['talker'], MuteTime: 60 });
    ok(r);
    assert.equal(r.Response, undefined);
    assert.equal(await speak('m1', 'talker'), 'Muted');
    assert.equal(await speak('m1', 'other'), 'sent');
    // The mute runs out after MuteTime.
    const later = new Engine(s.server.store, s.server.bus, () => Date.now() + 61_000);
    assert.equal(await speak('m1', 'talker', later), 'sent');
    const mutes = await asAdmin(s, { type: 'listMutes', roomId: 'm1' });
    assert.deepEqual(mutes.map((m) => [m.subject, m.origin]), [['talker', 'tencent']]);
    assert.ok(mutes[0].expiresAt! > Date.now() + 55_000 && mutes[0].expiresAt! <= Date.now() + 60_000);

    ok(await srv('mute_room_member', { RoomId: 'm1', MemberList_Account: ['talker'], MuteTime: 0 }));
    assert.equal(await speak('m1', 'talker'), 'sent');
    assert.deepEqual(await asAdmin(s, { type: 'listMutes', roomId: 'm1' }), []);
    stop();
    assert.deepEqual(
      told.map((d: any) => [d.userId, d.muted]),
      [
        ['talker', true],
        ['talker', false],
      ],
    );
  });

  it('mutes users not in the room yet (pre-emptive) and refuses bad input', async () => {
    ok(await srv('create_room', { RoomInfo: { RoomId: 'm2', RoomType: 'Live' } }));
    ok(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: ['later'], MuteTime: 30 }));
    await enter(s, 'm2', 'later');
    assert.equal(await speak('m2', 'later'), 'Muted');
    failed(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: ['a'], MuteTime: -1 }), 100002, 'MuteTime');
    failed(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: ['a'], MuteTime: 4294967296 }), 100002, 'MuteTime');
    failed(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: ['a'], MuteTime: '60' }), 100002, 'MuteTime');
    failed(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: [], MuteTime: 60 }), 100002, 'MemberList_Account');
    failed(await srv('mute_room_member', { RoomId: 'm2', MemberList_Account: Array.from({ length: 21 }, (_, i) => `u${i}`), MuteTime: 60 }), 100002, 'MemberList_Account');
    failed(await srv('mute_room_member', { RoomId: 'm2', MuteTime: 60 }), 100002, 'MemberList_Account');
    failed(await srv('mute_room_member', { RoomId: 'm-none', MemberList_Account: ['a'], MuteTime: 60 }), 100004);
  });
});
