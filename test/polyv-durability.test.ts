// Durability of the Polyv dialect's writes across `kill -9` of the real `rostrum serve`: kicks
// and their lifting (channel, app-wide, by IP), chat bans (by user, by IP, app-wide), bad-word
// lists (channel and account), the censorship switch, messages of every kind (admin, as a user,
// custom, to chosen users, audit-passed) and history deletes, fired as one concurrent burst, the
// process killed right after the last answer and started again on the same store. Every answered
// call must be in force afterwards, in the lists, in what members may do, in the history, in
// the audit log, and in the events a resuming client catches up on.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminSig, APP, tempData, tencentCall, type TestData, type TestServer } from './support/harness.js';
import { ok, polyvCall } from './support/polyv.js';
import { crash, killServers, serve, stop, unlimitedConfig, writeConfig, type ServerProcess } from './support/process.js';
import { RawClient, type Frame } from './realtime-support.js';

const datas: TestData[] = [];
const clients: RawClient[] = [];

after(async () => {
  for (const c of clients) c.close();
  killServers();
  for (const data of datas) await data.remove();
});

const KICK = '/live/v4/chat/channel/forbid/kick-users';
const UNKICK = '/live/v4/chat/channel/forbid/unkick-users';
const KICK_ALL = '/live/v4/chat/forbid/kick-users';
const UNKICK_ALL = '/live/v4/chat/forbid/unkick-users';
const LIST_KICKED = '/live/v3/channel/chat/list-kicked';
const DEL_KICKED = '/live/v3/channel/chat/del-kicked';
const FORBID_LIST = '/live/v4/chat/forbid/list';
const BAN = '/live/v3/channel/chat/banned-user';
const BANNED_LIST = '/live/v3/channel/chat/get-banned-list';
const BAN_ALL = '/live/v3/user/chat/banned-user/update';
const BANNED_ALL_LIST = '/live/v3/user/chat/banned-user/list';
const ADD_BANNED_IP = (channelId: string) => `/live/v2/chat/${channelId}/addBannedIP`;
const DEL_BANNED = (channelId: string) => `/live/v2/chat/${channelId}/delBanned`;
const ADD_BAD_WORDS = '/live/v2/chat/account/addBadWords';
const BAD_WORDS = '/live/v3/channel/badword/list';
const ACCOUNT_BAD_WORDS = '/live/v3/user/badword/list';
const DELETE_ACCOUNT_BAD_WORDS = '/live/v3/user/badword/delete';
const CENSOR = '/live/v3/channel/chat/update-censor-enabled';
const AUDIT = '/live/v4/chat/message/audit';
const ADMIN_MSG = '/live/v3/channel/chat/send-admin-msg';
const SEND = '/live/v3/channel/chat/send';
const SEND_CHAT = (channelId: string) => `/live/v1/channelSetting/${channelId}/send-chat`;
const CUSTOM = '/live/v4/chat/send-custom-message';
const EMIT = '/live/v5/chat/redirect/channel/emit-by-userId/post';
const HISTORY = '/live/v3/channel/chat/get-history-page';
const DEL_CHAT = (channelId: string) => `/live/v2/chat/${channelId}/delChat`;
const REMOVE_CONTENTS = '/live/v3/channel/chat/remove-contents';
const CLEAN_CHAT = (channelId: string) => `/live/v2/chat/${channelId}/cleanChat`;

/** Polyv's day-time parameters are China Standard Time (UTC+8). */
const cst = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

const at = (p: ServerProcess) => ({ url: p.url }) as TestServer;

async function connect(p: ServerProcess, userId: string, roomId?: string): Promise<RawClient> {
  const c = await RawClient.connect(at(p), userId, roomId);
  clients.push(c);
  return c;
}

describe('Polyv writes across kill -9', () => {
  it('keeps every answered kick, ban, bad word, switch, message and delete', async () => {
    const started = Date.now();
    const data = tempData('rostrum-polyv-durable-');
    datas.push(data);
    const config = writeConfig(data, unlimitedConfig());
    const first = await serve(data, config);
    const polyv = (p: ServerProcess, path: string, params: Record<string, string | number | undefined> = {}, json?: unknown) =>
      polyvCall(p.url, path, params, json === undefined ? {} : { json });
    for (const roomId of ['pv', 'pv2', 'pv3', 'pvip']) {
      const r = await tencentCall(first.url, 'room_engine_http_srv/create_room', { RoomInfo: { RoomId: roomId, RoomType: 'Conference', Owner_Account: 'owner' } });
      assert.equal(r.ErrorCode, 0, r.ErrorInfo);
    }

    // Members present: kicks remove them, chat bans reach them, the watcher sees the room.
    const watcher = await connect(first, 'watcher');
    const snapshot = await watcher.ok('enterRoom', { roomId: 'pv' });
    for (const u of ['k1', 'g1', 'm1']) await connect(first, u, 'pv');
    // An IP kick (only the realtime side makes them) for del-kicked type=ip to lift.
    const owner = await connect(first, 'owner', 'pvip');
    await connect(first, 'ipv', 'pvip');
    await owner.ok('kickUser', { roomId: 'pvip', userId: 'ipv', type: 'ip' });

    // What the burst lifts or deletes.
    ok(await polyv(first, KICK, { channelId: 'pv' }, { viewerIds: ['k3', 'k4'], nickNames: ['K3', 'K4'] }));
    ok(await polyv(first, KICK_ALL, {}, { viewerIds: ['g2'], nickNames: ['G2'] }));
    ok(await polyv(first, BAN, { channelId: 'pv', userIds: 'm2', toBanned: 'Y' }));
    ok(await polyv(first, ADD_BANNED_IP('pv'), { ip: '10.0.0.2' }));
    ok(await polyv(first, BAN_ALL, { viewerIds: JSON.stringify(['gm2']), banned: 'Y' }));
    ok(await polyv(first, ADD_BAD_WORDS, { channelId: 'pv', words: JSON.stringify(['old']) }));
    ok(await polyv(first, ADD_BAD_WORDS, { words: JSON.stringify(['oldacct']) }));
    const doomed = [];
    for (const msg of ['delete me', 'remove me']) doomed.push(ok(await polyv(first, ADMIN_MSG, { channelId: 'pv', msg, pic: 'https://example.com/a.png', nickName: 'Host', apiVersion: '3.1' })).msgId);
    ok(await polyv(first, ADMIN_MSG, { channelId: 'pv3', msg: 'cleared', pic: 'https://example.com/a.png', nickName: 'Host' }));

    // The burst: every call at once; the crash right after the last answer.
    const burstStart = Date.now();
    const adminTexts = Array.from({ length: 12 }, (_, i) => `admin ${i}`);
    const answers = await Promise.all([
      polyv(first, KICK, { channelId: 'pv' }, { viewerIds: ['k1', 'k2'], nickNames: ['K1', 'K2'] }),
      polyv(first, KICK_ALL, {}, { viewerIds: ['g1'], nickNames: ['G1'] }),
      polyv(first, UNKICK, { channelId: 'pv' }, { viewerIds: ['k3'] }),
      polyv(first, DEL_KICKED, { roomId: 'pv', value: 'k4', type: 'userId' }),
      polyv(first, DEL_KICKED, { roomId: 'pvip', value: '127.0.0.1', type: 'ip' }),
      polyv(first, UNKICK_ALL, {}, { viewerIds: ['g2'] }),
      polyv(first, BAN, { channelId: 'pv', userIds: 'm1', toBanned: 'Y' }),
      polyv(first, BAN, { channelId: 'pv', userIds: 'm2', toBanned: 'N' }),
      polyv(first, ADD_BANNED_IP('pv'), { ip: '10.0.0.1' }),
      polyv(first, DEL_BANNED('pv'), { type: 'ip', content: '10.0.0.2' }),
      polyv(first, BAN_ALL, { viewerIds: JSON.stringify(['gm1']), banned: 'Y' }),
      polyv(first, BAN_ALL, { viewerIds: JSON.stringify(['gm2']), banned: 'N' }),
      polyv(first, ADD_BAD_WORDS, { channelId: 'pv', words: JSON.stringify(['foo', 'bar']) }),
      polyv(first, ADD_BAD_WORDS, { words: JSON.stringify(['baz']) }),
      polyv(first, DEL_BANNED('pv'), { type: 'badword', content: 'old' }),
      polyv(first, DELETE_ACCOUNT_BAD_WORDS, { words: 'oldacct' }),
      polyv(first, CENSOR, { channelId: 'pv2', enabled: 'Y' }),
      polyv(first, AUDIT, { channelId: 'pv2' }, [{ msgId: 'audited-1', content: 'passed review', viewerId: 'talker', nickName: 'Talker' }]),
      polyv(first, SEND, { channelId: 'pv', content: 'as the admin', role: 'ADMIN' }),
      polyv(first, SEND_CHAT('pv'), { userId: 'ann', content: Buffer.from('as ann', 'utf8').toString('base64url') }),
      polyv(first, CUSTOM, { channelId: 'pv', content: 'custom content' }),
      polyv(first, EMIT, {}, { roomId: 'pv', userIds: ['watcher'], payload: 'just for you' }),
      polyv(first, DEL_CHAT('pv'), { id: doomed[0] }),
      polyv(first, REMOVE_CONTENTS, { channelId: 'pv', ids: doomed[1] }),
      polyv(first, CLEAN_CHAT('pv3')),
      ...adminTexts.map((msg) => polyv(first, ADMIN_MSG, { channelId: 'pv', msg, pic: 'https://example.com/a.png', nickName: 'Host', apiVersion: '3.1' })),
    ]);
    await crash(first);
    const results = answers.map(ok);
    const adminIds: string[] = results.slice(-adminTexts.length).map((d) => d.msgId);

    const second = await serve(data, config);
    try {
      // Kicks: the channel's list, the app-wide list, and entering.
      const kicked = ok(await polyv(second, LIST_KICKED, { channelId: 'pv' }));
      assert.deepEqual(kicked.map((k: { userId: string }) => k.userId).sort(), ['k1', 'k2']);
      assert.equal(kicked.find((k: { userId: string }) => k.userId === 'k1').clientIp, '127.0.0.1', 'the snapshot of the member kicked');
      assert.deepEqual(ok(await polyv(second, LIST_KICKED, { channelId: 'pvip' })), []);
      const forbid = ok(await polyv(second, FORBID_LIST, { pageSize: 100 })).contents;
      assert.deepEqual(
        forbid.map((r: Frame) => [r.viewerId, r.kicked, r.banned]).sort(),
        [
          ['g1', 'Y', 'N'],
          ['gm1', 'N', 'Y'],
        ],
      );
      for (const [u, roomId, code] of [['k1', 'pv', 110003], ['k2', 'pv', 110003], ['g1', 'pv2', 110003]] as const) {
        await (await connect(second, u)).fails('enterRoom', { roomId }, code);
      }
      for (const [u, roomId] of [['k3', 'pv'], ['k4', 'pv'], ['g2', 'pv'], ['ipv', 'pvip']]) await connect(second, u, roomId);

      // Chat bans: the lists, and speaking.
      assert.deepEqual(ok(await polyv(second, BANNED_LIST, { channelId: 'pv', type: 'userId' })), ['m1']);
      assert.deepEqual(ok(await polyv(second, BANNED_LIST, { channelId: 'pv', type: 'ip' })), ['10.0.0.1']);
      assert.deepEqual(ok(await polyv(second, BANNED_ALL_LIST, {})).contents, ['gm1']);

      // Bad words, and censorship.
      assert.deepEqual(ok(await polyv(second, BAD_WORDS, { channelId: 'pv', type: 'badword' })), ['foo', 'bar']);
      assert.deepEqual(ok(await polyv(second, ACCOUNT_BAD_WORDS, {})), ['baz']);

      // The history: what was sent is there, what was deleted is not.
      const page = async (channelId: string) =>
        ok(await polyv(second, HISTORY, { channelId, startDay: cst(started - 2000), endDay: cst(Date.now() + 2000), pageSize: 1000 })) as Frame[];
      const pv = await page('pv');
      assert.deepEqual(pv.map((r) => r.content).sort(), [...adminTexts, 'as the admin', 'as ann'].sort());
      for (const id of adminIds) assert.ok(pv.some((r) => r.id === id), `admin message ${id}`);
      assert.deepEqual((await page('pv2')).map((r) => [r.id, r.content, r.user.userId]), [['audited-1', 'passed review', 'talker']]);
      assert.deepEqual(await page('pv3'), []);

      // The audit log has an entry for every moderation call answered in the burst.
      const res = await fetch(`${second.url}/api/v1/audit?limit=500&from=${burstStart}`, { headers: { authorization: `Bearer ${adminSig()}` } });
      assert.equal(res.status, 200);
      const audit = ((await res.json()) as { items: Frame[] }).items.map((e) => `${e.surface} ${e.action} ${e.roomId} ${e.targetType}:${e.target}`);
      for (const want of [
        'polyv ban pv userId:k1',
        'polyv ban pv userId:k2',
        'polyv ban  userId:g1',
        'polyv unban pv userId:k3',
        'polyv unban pv userId:k4',
        'polyv unban pvip ip:127.0.0.1',
        'polyv unban  userId:g2',
        'polyv mute pv userId:m1',
        'polyv unmute pv userId:m2',
        'polyv mute pv ip:10.0.0.1',
        'polyv unmute pv ip:10.0.0.2',
        'polyv mute  userId:gm1',
        'polyv unmute  userId:gm2',
      ]) {
        assert.ok(audit.includes(want), `audit: ${want} in ${JSON.stringify(audit)}`);
      }
      // send-admin-msg and chat/send are both the app admin's messages.
      assert.equal(audit.filter((a) => a.startsWith('polyv adminMessage pv ')).length, adminTexts.length + 1, 'an entry per admin message');

      // A watcher resuming from its entry gets every event the burst committed.
      const back = await connect(second, 'watcher');
      const resumed = await back.ok('enterRoom', { roomId: 'pv', lastSeq: snapshot.seq, createTime: snapshot.room.createTime });
      assert.equal(resumed.recovered, true);
      await back.sync();
      const events = back.events.filter((e) => e.roomId === 'pv');
      const texts = events.filter((e) => e.event === 'messageReceived').map((e) => e.text);
      assert.deepEqual(texts.sort(), [...adminTexts, 'as the admin', 'as ann', 'delete me', 'remove me'].sort());
      assert.deepEqual(events.filter((e) => e.event === 'messagesDeleted').flatMap((e) => e.msgIds).sort(), [...doomed].sort());
      assert.deepEqual(events.filter((e) => e.event === 'customMessageReceived').map((e) => e.content), ['custom content']);
      assert.deepEqual(events.filter((e) => e.event === 'directMessageReceived').map((e) => e.payload), ['just for you']);
      assert.deepEqual(
        events.filter((e) => e.event === 'memberLeft' && e.reason === 'banned').map((e) => e.userId).sort(),
        ['g1', 'k1'],
      );

      // And they are in force for what members do now (after the history was read: these add to it).
      await back.fails('sendMessage', { roomId: 'pv', text: 'FOO fighters' }, 110012);
      await back.fails('sendMessage', { roomId: 'pv', text: 'a baz' }, 110012);
      assert.ok((await back.ok('sendMessage', { roomId: 'pv', text: 'old words are fine again' })).msgId);
      await (await connect(second, 'm1', 'pv')).fails('sendMessage', { roomId: 'pv', text: 'hi' }, 110005);
      await (await connect(second, 'gm1', 'pv')).fails('sendMessage', { roomId: 'pv', text: 'hi' }, 110005);
      assert.ok((await (await connect(second, 'm2', 'pv')).ok('sendMessage', { roomId: 'pv', text: 'hi' })).msgId);
      const talker = await connect(second, 'talker', 'pv2');
      assert.equal((await talker.ok('sendMessage', { roomId: 'pv2', text: 'please review' })).held, true);
    } finally {
      await stop(second);
    }
  });
});
