// Kicked-list entries as Polyv documents them: `userType` from the member, Polyv's default `pic`
// when the member has no avatar, and the optional `param4` (the member's customInfo).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { asUser, startTestServer, type TestServer } from './support/harness.js';
import { createRoom, ok, polyvClient } from './support/polyv.js';

let s: TestServer;
let polyv: ReturnType<typeof polyvClient>;
before(async () => {
  s = await startTestServer();
  polyv = polyvClient(s);
});
after(() => s.close());

const DEFAULT_PIC = '//livestatic.videocc.net/assets/wimages/missing_face.png';

test('list-kicked: userType from the member, default pic, param4 only when the member had customInfo', async () => {
  await createRoom(s, 'ke1');
  await asUser(s, 'plain', { type: 'enterRoom', roomId: 'ke1', clientIp: '10.1.1.1', connId: 'c-plain', nick: 'Plain', userType: 'student' });
  await asUser(s, 'rich', { type: 'enterRoom', roomId: 'ke1', clientIp: '10.1.1.2', connId: 'c-rich', nick: 'Rich', avatar: 'https://example.com/r.png', userType: 'guest', customInfo: 'vip-7' });
  ok(await polyv('/live/v4/chat/channel/forbid/kick-users', { channelId: 'ke1' }, { json: { viewerIds: ['plain', 'rich', 'absent'], nickNames: ['p', 'r', 'Absent'] } }));
  const entries = ok(await polyv('/live/v3/channel/chat/list-kicked', { channelId: 'ke1' }));
  const by = Object.fromEntries(entries.map((e: any) => [e.userId, e]));
  assert.deepEqual([by.plain.userType, by.plain.pic, 'param4' in by.plain], ['student', DEFAULT_PIC, false]);
  assert.deepEqual([by.rich.userType, by.rich.pic, by.rich.param4], ['guest', 'https://example.com/r.png', 'vip-7']);
  assert.deepEqual([by.absent.userType, by.absent.pic, by.absent.nick], ['', DEFAULT_PIC, 'Absent']);
  // Polyv's field order, param4 in its place.
  assert.deepEqual(Object.keys(by.rich), ['banned', 'channelId', 'clientIp', 'nick', 'param4', 'pic', 'roomId', 'type', 'uid', 'userId', 'userType']);
});
