// Tencent dialect envelope and common error codes: HTTP 200 always, {ActionStatus, ErrorCode,
// ErrorInfo, RequestId[, Response]}, and the 60xxx/70xxx codes for bad URLs, bodies, signatures,
// permissions and call rates.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';
import { genUserSig } from '../src/auth/usersig.js';
import type { App } from '../src/core/model.js';
import { APP, OTHER_APP, adminSig, enter, startTestServer, type TestServer } from './support/harness.js';
import type { Reply } from './support/tencent.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const r = await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'env', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 4 } });
  assert.equal(r.ErrorCode, 0);
});
after(async () => {
  await s.close();
});

function query(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join('&');
}

function goodParams(app: App = APP): Record<string, string> {
  return { sdkappid: String(app.sdkAppId), identifier: app.admins[0], usersig: adminSig(app), random: '12345', contenttype: 'json' };
}

/** A raw HTTP call: checks HTTP 200 and a JSON envelope, returns the body. */
async function raw(path: string, init: { method?: string; query?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(`${s.url}/v4/${path}?${init.query ?? query(goodParams())}`, {
    method: init.method ?? 'POST',
    body: init.body,
    headers: init.headers,
  });
  assert.equal(res.status, 200, `HTTP ${res.status} for ${init.method ?? 'POST'} ${path}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as Reply;
  checkEnvelope(body);
  return body;
}

function checkEnvelope(r: Reply): void {
  assert.ok(r.ActionStatus === 'OK' || r.ActionStatus === 'FAIL');
  assert.equal(typeof r.ErrorCode, 'number');
  assert.equal(typeof r.ErrorInfo, 'string');
  assert.match(r.RequestId, /^Id-[0-9a-f]{32}-O-Seq-\d+$/);
  assert.equal(r.ActionStatus === 'OK', r.ErrorCode === 0);
}

function failed(r: Reply, code: number, info?: RegExp): void {
  assert.equal(r.ErrorCode, code, `expected ${code}, got ${r.ErrorCode} ${r.ErrorInfo}`);
  assert.equal(r.ActionStatus, 'FAIL');
  assert.equal(r.Response, undefined);
  assert.ok(r.ErrorInfo.length > 0);
  if (info) assert.match(r.ErrorInfo, info);
}

const ROOM = JSON.stringify({ RoomId: 'env' });

describe('envelope', () => {
  it('answers success with exactly the four fields, plus Response for data commands', async () => {
    const create = await raw('room_engine_http_srv/create_room', { body: JSON.stringify({ RoomInfo: { RoomId: 'env-2', RoomType: 'Conference' } }) });
    assert.deepEqual(Object.keys(create), ['ActionStatus', 'ErrorCode', 'ErrorInfo', 'RequestId']);
    assert.deepEqual([create.ActionStatus, create.ErrorCode, create.ErrorInfo], ['OK', 0, '']);
    const info = await raw('room_engine_http_srv/get_room_info', { body: ROOM });
    assert.deepEqual(Object.keys(info), ['ActionStatus', 'ErrorCode', 'ErrorInfo', 'RequestId', 'Response']);
  });

  it('gives every answer its own RequestId', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await raw('room_engine_http_srv/get_room_info', { body: ROOM })).RequestId);
    ids.add((await raw('room_engine_http_srv/get_room_info', { body: '' })).RequestId);
    assert.equal(ids.size, 21);
  });

  it('reads the body whatever its content type (curl -d sends a form type)', async () => {
    for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/octet-stream']) {
      const r = await raw('room_engine_http_srv/get_room_info', { body: ROOM, headers: { 'content-type': type } });
      assert.equal(r.ErrorCode, 0, `${type}: ${r.ErrorInfo}`);
    }
  });
});

describe('60002: the HTTP request or URL is wrong', () => {
  it('needs identifier and usersig', async () => {
    const p = goodParams();
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, identifier: undefined }) }), 60002, /identifier/);
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, identifier: '' }) }), 60002, /identifier/);
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, usersig: undefined }) }), 60002, /usersig/);
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, usersig: '' }) }), 60002, /usersig/);
  });

  it('refuses a query parameter given twice', async () => {
    for (const name of ['sdkappid', 'identifier', 'usersig', 'random', 'contenttype']) {
      const q = `${query(goodParams())}&${name}=${encodeURIComponent(goodParams()[name])}`;
      failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: q }), 60002, new RegExp(name));
    }
  });

  it('refuses a bad random or contenttype', async () => {
    const p = goodParams();
    for (const random of ['abc', '-1', '4294967296', '1.5']) {
      failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, random }) }), 60002, /random/);
    }
    assert.equal((await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, random: '4294967295' }) })).ErrorCode, 0);
    assert.equal((await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, random: undefined }) })).ErrorCode, 0);
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, contenttype: 'xml' }) }), 60002, /contenttype/);
  });

  it('refuses any method but POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const body = method === 'GET' || method === 'OPTIONS' ? undefined : JSON.stringify({ RoomInfo: { RoomId: 'by-' + method, RoomType: 'Conference' } });
      failed(await raw('room_engine_http_srv/create_room', { method, body }), 60002, /POST/);
    }
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      failed(await raw('room_engine_http_srv/get_room_info', { body: JSON.stringify({ RoomId: 'by-' + method }) }), 100004);
    }
  });

  it('refuses a body over the configured limit', async () => {
    const small = await startTestServer({ bodyLimit: 1024 });
    try {
      const call = (body: string) =>
        fetch(`${small.url}/v4/room_engine_http_srv/create_room?${query(goodParams())}`, { method: 'POST', body }).then(async (res) => {
          assert.equal(res.status, 200);
          return (await res.json()) as Reply;
        });
      const big = JSON.stringify({ RoomInfo: { RoomId: 'big', RoomType: 'Conference', CustomInfo: 'x'.repeat(2000) } });
      failed(await call(big), 60002, /too large/);
      failed(await small.tencent('room_engine_http_srv/get_room_info', { RoomId: 'big' }), 100004);
      const fits = JSON.stringify({ RoomInfo: { RoomId: 'big', RoomType: 'Conference', CustomInfo: 'x'.repeat(400) } });
      assert.equal((await call(fits)).ErrorCode, 0);
    } finally {
      await small.close();
    }
  });
});

describe('60003: the body is not a JSON object', () => {
  it('refuses malformed JSON, an empty body and non-object bodies', async () => {
    const bodies: [string | undefined, RegExp][] = [
      ['{"RoomId":', /not valid JSON/],
      ["{'RoomId':'env'}", /not valid JSON/],
      ['{"RoomId":"env"} trailing', /not valid JSON/],
      [undefined, /empty/],
      ['', /empty/],
      ['  \n ', /empty/],
      ['[]', /object/],
      ['[{"RoomId":"env"}]', /object/],
      ['"env"', /object/],
      ['42', /object/],
      ['null', /object/],
      ['true', /object/],
    ];
    for (const [body, info] of bodies) {
      failed(await raw('room_engine_http_srv/get_room_info', { body }), 60003, info);
    }
  });

  it('does not create anything from a bad body', async () => {
    failed(await raw('room_engine_http_srv/create_room', { body: '{"RoomInfo":{"RoomId":"half","RoomType":"Conference"}' }), 60003);
    failed(await s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'half' }), 100004);
  });
});

describe('60006 / 60012: the SDKAppID', () => {
  it('needs sdkappid (60012)', async () => {
    const p = goodParams();
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, sdkappid: undefined }) }), 60012);
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, sdkappid: '' }) }), 60012);
  });

  it('refuses unknown and non-numeric SDKAppIDs (60006)', async () => {
    const p = goodParams();
    for (const sdkappid of ['1400009999', 'abc', '-1', '1.5', '0x10', '14000000011400000001']) {
      failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...p, sdkappid }) }), 60006);
    }
  });
});

describe('60009: unknown service or command', () => {
  it('refuses unknown commands and services', async () => {
    for (const path of [
      'room_engine_http_srv/no_such_command',
      'room_engine_http_srv/get_seat_list', // a mic command under the srv service
      'room_engine_http_mic/get_room_info',
      'room_engine_http_xxx/get_room_info',
      'live_engine_http_srv/create_room',
      'room_engine_http_srv/get_room_info/extra',
      'room_engine_http_srv',
    ]) {
      failed(await raw(path, { body: ROOM }), 60009);
    }
  });
});

describe('60010: the identifier must be an App administrator', () => {
  it('refuses a valid UserSig of a non-admin user', async () => {
    const q = query({ ...goodParams(), identifier: 'user2', usersig: genUserSig(APP.sdkAppId, APP.secretKey, 'user2', 3600) });
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: q }), 60010);
    failed(await raw('room_engine_http_srv/destroy_room', { body: ROOM, query: q }), 60010);
    assert.equal((await s.tencent('room_engine_http_srv/get_room_info', { RoomId: 'env' })).ErrorCode, 0);
  });

  it("refuses another app's admin", async () => {
    const q = query({ ...goodParams(), identifier: 'boss', usersig: genUserSig(APP.sdkAppId, APP.secretKey, 'boss', 3600) });
    failed(await raw('room_engine_http_srv/get_room_info', { body: ROOM, query: q }), 60010);
  });
});

describe('70xxx: the UserSig', () => {
  const withSig = (usersig: string) => raw('room_engine_http_srv/get_room_info', { body: ROOM, query: query({ ...goodParams(), usersig }) });

  it('70001: expired', async () => {
    failed(await withSig(genUserSig(APP.sdkAppId, APP.secretKey, 'administrator', 60, Date.now() - 61_000)), 70001);
    assert.equal((await withSig(genUserSig(APP.sdkAppId, APP.secretKey, 'administrator', 60, Date.now() - 50_000))).ErrorCode, 0);
  });

  it('70003: truncated or garbage', async () => {
    const good = adminSig();
    failed(await withSig(good.slice(0, Math.floor(good.length / 2))), 70003);
    failed(await withSig(good.slice(0, -8)), 70003);
    failed(await withSig('not-a-usersig'), 70003);
    failed(await withSig('x'.repeat(5000)), 70003);
    const notDeflated = Buffer.from(JSON.stringify({ 'TLS.ver': '2.0' })).toString('base64');
    failed(await withSig(notDeflated), 70003);
    const notJson = deflateSync(Buffer.from('hello')).toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
    failed(await withSig(notJson), 70003);
  });

  it('70009: made with another key', async () => {
    failed(await withSig(genUserSig(APP.sdkAppId, 'not-the-key', 'administrator', 3600)), 70009);
    failed(await withSig(genUserSig(APP.sdkAppId, OTHER_APP.secretKey, 'administrator', 3600)), 70009);
  });

  it('70013: made for another identifier', async () => {
    failed(await withSig(genUserSig(APP.sdkAppId, APP.secretKey, 'someone-else', 3600)), 70013);
  });

  it('70014: made for another SDKAppID', async () => {
    failed(await withSig(genUserSig(OTHER_APP.sdkAppId, APP.secretKey, 'administrator', 3600)), 70014);
  });
});

describe('60007: the per-command rate limit', () => {
  it('refuses the 6th call of a command within a second, not other commands or apps, and recovers', async () => {
    const limited = (app: App): App => ({ ...app, rateLimit: { perCommandPerSecond: 5, perEndpointPerSecond: 5 } });
    const rl = await startTestServer({ apps: [limited(APP), limited(OTHER_APP)] });
    try {
      ok(await rl.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'rl', RoomType: 'Conference', IsSeatEnabled: true } }));
      ok(await rl.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'rl', RoomType: 'Conference' } }, { app: OTHER_APP }));
      const info = (app: App = APP) => rl.tencent('room_engine_http_srv/get_room_info', { RoomId: 'rl' }, { app });
      let checked = false;
      // The limit counts calls per wall-clock second: run the burst early in a second, and run it
      // again if it happened to straddle two seconds.
      for (let attempt = 0; attempt < 5 && !checked; attempt++) {
        await sleep(1000 - (Date.now() % 1000) + 20);
        const second = Math.floor(Date.now() / 1000);
        const codes: number[] = [];
        for (let i = 0; i < 6; i++) codes.push((await info()).ErrorCode);
        const seventh = await info();
        const otherCommand = await rl.tencent('room_engine_http_mic/get_seat_list', { RoomId: 'rl' });
        const otherApp = await info(OTHER_APP);
        if (Math.floor(Date.now() / 1000) !== second) continue;
        assert.deepEqual(codes, [0, 0, 0, 0, 0, 60007]);
        failed(seventh, 60007);
        ok(otherCommand);
        ok(otherApp);
        await sleep(1000 - (Date.now() % 1000) + 20);
        ok(await info());
        checked = true;
      }
      assert.ok(checked, 'could not fit the burst into one second');
    } finally {
      await rl.close();
    }
  });
});

function ok(r: Reply): void {
  assert.equal(r.ErrorCode, 0, `expected success, got ${r.ErrorCode} ${r.ErrorInfo}`);
}

describe('bad input never crashes', () => {
  // One valid body per command; every field is replaced in turn by values of the wrong type,
  // out-of-range numbers and over-long strings. Nothing may answer other than HTTP 200 with a
  // documented code; in particular never 100001 (an internal error).
  const samples: Record<string, Record<string, unknown>> = {
    'room_engine_http_srv/create_room': {
      RoomInfo: { RoomId: 'fz-new', RoomType: 'Conference', RoomName: 'n', Owner_Account: 'u1', MaxMemberCount: 10, ScheduleStartTime: 1, ScheduleEndTime: 2, IsSeatEnabled: true, MaxSeatCount: 3, TakeSeatMode: 'FreeToTake', CustomInfo: 'c', IsPasswordEnabled: false, Password: '', IsVideoDisabled: false },
      ScheduleInviteeList_Account: ['a'],
    },
    'room_engine_http_srv/destroy_room': { RoomId: 'fz-gone' },
    'room_engine_http_srv/update_room_info': { RoomInfo: { RoomId: 'fz', RoomName: 'n', MaxMemberCount: 10, CustomInfo: 'c', TakeSeatMode: 'FreeToTake', IsPasswordEnabled: false, Password: '' } },
    'room_engine_http_srv/get_room_info': { RoomId: 'fz' },
    'room_engine_http_srv/get_room_member_list': { RoomId: 'fz', Count: 2, Next: '' },
    'room_engine_http_srv/update_room_member_info': { RoomId: 'fz', MemberInfo: { Member_Account: 'u1', NameCard: 'n', Role: 'Admin', CustomInfo: 'c' } },
    'room_engine_http_srv/change_room_owner': { RoomId: 'fz', From_Account: 'administrator', NewOwner_Account: 'administrator' },
    'room_engine_http_srv/mark_room_member': { RoomId: 'fz', CommandType: 1, MemberList: [{ Member_Account: 'u1', Marks: [1000] }] },
    'room_engine_http_srv/ban_room_member': { RoomId: 'fz', MemberList_Account: ['stranger'], Reason: 'r', Duration: 5 },
    'room_engine_http_srv/unban_room_member': { RoomId: 'fz', MemberList_Account: ['stranger'] },
    'room_engine_http_srv/get_banned_member_list': { RoomId: 'fz', Limit: 2, Offset: 0, Next: '0', IncludeAllOrigins: true },
    'room_engine_http_srv/kick_user_out': { RoomId: 'fz', MemberList_Account: ['nobody'], Reason: 'r' },
    'room_engine_http_srv/mute_room_member': { RoomId: 'fz', MemberList_Account: ['u3'], MuteTime: 5 },
    'room_engine_http_mic/get_seat_list': { RoomId: 'fz' },
    'room_engine_http_mic/pick_user_on_seat': { RoomId: 'fz', Member_Account: 'u2', Index: 1 },
    'room_engine_http_mic/kick_user_off_seat': { RoomId: 'fz', Member_Account: 'u2', Data: 'd' },
    'room_engine_http_mic/lock_seat': { RoomId: 'fz', Index: 2, ForbidTaken: false, ForbidVideo: true, ForbidAudio: true },
    'room_engine_http_mic/switch_seat': { RoomId: 'fz', ToIndex: 3, Member_Account: 'u2' },
    'room_engine_http_mic/move_user_to_seat': { RoomId: 'fz', SeatIndex: 0, Member_Account: 'u2', Policy: 2 },
  };
  const badValues: unknown[] = [null, true, -1, 0, 1.5, '', [], {}, 'é'.repeat(600), 1e20, -1e20, 2 ** 53, '1', [''], ['x'.repeat(60)], Array.from({ length: 21 }, (_, i) => `z${i}`), undefined];
  const documented = new Set([0, 100002, 100003, 100004, 100010, 100012, 100005, 100006, 100009, 100015, 100200, 100202, 100203, 100205, 100206, 100210, 100211]);

  /** Paths to every field of a sample body (into nested objects and the first array item). */
  function fieldPaths(o: Record<string, unknown>, prefix: string[] = []): string[][] {
    const out: string[][] = [];
    for (const [k, v] of Object.entries(o)) {
      out.push([...prefix, k]);
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...fieldPaths(v as Record<string, unknown>, [...prefix, k]));
      if (Array.isArray(v) && v[0] && typeof v[0] === 'object') out.push(...fieldPaths(v[0], [...prefix, k, '0']));
    }
    return out;
  }

  it('answers every malformed field of every command with a documented code', async () => {
    ok(await s.tencent('room_engine_http_srv/create_room', { RoomInfo: { RoomId: 'fz', RoomType: 'Conference', IsSeatEnabled: true, MaxSeatCount: 4 } }));
    for (const u of ['u1', 'u2', 'u3']) await enter(s, 'fz', u);
    let calls = 0;
    for (const [command, sample] of Object.entries(samples)) {
      for (const path of fieldPaths(sample)) {
        for (const value of badValues) {
          const body = structuredClone(sample) as Record<string, any>;
          let holder = body;
          for (const k of path.slice(0, -1)) holder = holder[k];
          if (value === undefined) delete holder[path.at(-1)!];
          else holder[path.at(-1)!] = value;
          const r = await raw(command, { body: JSON.stringify(body) });
          calls++;
          assert.ok(documented.has(r.ErrorCode), `${command} ${path.join('.')}=${JSON.stringify(value)}: ${r.ErrorCode} ${r.ErrorInfo}`);
        }
      }
    }
    assert.ok(calls > 1000);
  });
});
