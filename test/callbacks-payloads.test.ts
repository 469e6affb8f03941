// The event -> callback table, fast and in memory: which events yield which callback, the
// documented fields, and event ids that are stable across re-reads and unique across rooms.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bodyOf, callbackOf, eventIdOf } from '../src/callbacks/payloads.js';
import { CALLBACK_COMMANDS } from '../src/callbacks/commands.js';
import { callbackUrl, signOf, verifyCallback } from '../src/callbacks/sign.js';
import type { RoomEvent } from '../src/core/events.js';

const base = { appId: 1400000001, roomId: 'r1', seq: 7, at: 1795964827123, actor: 'administrator' };
const ev = (e: object) => ({ ...base, ...e }) as RoomEvent;

describe('callback payloads', () => {
  it('maps leave reasons onto Tencent Type values', () => {
    const types = (['leave', 'kicked', 'banned', 'dismissed', 'expired', 'disconnected'] as const).map(
      (reason) => callbackOf(ev({ type: 'memberLeft', data: { userId: 'u', connId: '', reason, memberCount: 3 } }))!.fields.Type,
    );
    assert.deepEqual(types, ['Leave', 'Kicked', 'Kicked', 'Kicked', 'Expired', 'Expired']);
  });

  it('yields nothing for events without a callback', () => {
    assert.equal(callbackOf(ev({ type: 'messageReceived', data: { msgId: 'm', from: 'u', nick: '', avatar: '', text: 'hi', admin: false } })), null);
    assert.equal(callbackOf(ev({ type: 'memberReplaced', data: { userId: 'u', connId: 'c' } })), null);
  });

  it('an owner change is a room info update with the new Owner_Account; one stored without its room yields none', () => {
    const room = { roomId: 'r1', name: 'n', ownerId: 'b', takeSeatMode: 'FreeToTake', maxMemberCount: 10, customInfo: '' };
    const cb = callbackOf(ev({ type: 'ownerChanged', data: { from: 'a', to: 'b', room } }))!;
    assert.equal(cb.command, 'Room.CallbackAfterUpdateRoomInfo');
    assert.deepEqual([cb.fields.Operator_Account, (cb.fields.RoomInfo as { Owner_Account: string }).Owner_Account], ['administrator', 'b']);
    assert.equal(callbackOf(ev({ type: 'ownerChanged', data: { from: 'a', to: 'b' } })), null);
  });

  it('puts CallbackCommand first and EventTime (ms), EventId and Seq last', () => {
    const e = ev({ type: 'roomDismissed', data: { roomId: 'r1' } });
    const cb = callbackOf(e)!;
    const body = JSON.parse(bodyOf(e, cb, eventIdOf(e)));
    assert.deepEqual(Object.keys(body), ['CallbackCommand', 'Operator_Account', 'RoomId', 'EventTime', 'EventId', 'Seq']);
    assert.deepEqual([body.CallbackCommand, body.EventTime, body.Seq], ['Room.CallbackAfterDestroyRoom', base.at, 7]);
    assert.ok(CALLBACK_COMMANDS.includes(body.CallbackCommand));
  });

  it('event ids: the same event read again keeps its id; another room or seq gets another', () => {
    const e = ev({ type: 'roomDismissed', data: { roomId: 'r1' } });
    assert.equal(eventIdOf(e), eventIdOf(JSON.parse(JSON.stringify(e))));
    assert.notEqual(eventIdOf(e), eventIdOf({ ...e, roomId: 'r2' } as RoomEvent));
    assert.notEqual(eventIdOf(e), eventIdOf({ ...e, seq: 8 }));
    assert.notEqual(eventIdOf(e), eventIdOf({ ...e, appId: 1400000002 }));
    assert.notEqual(eventIdOf(e), eventIdOf({ ...e, data: { roomId: 'r3' } } as RoomEvent), 'another room life at the same seq and time');
    assert.equal(eventIdOf(e, JSON.stringify(e)), eventIdOf(JSON.parse(JSON.stringify(e)), JSON.stringify(e)), 'the same stored text, the same id');
    assert.match(eventIdOf(e), /^[0-9a-f]{32}$/);
    assert.ok(eventIdOf(e) < eventIdOf({ ...e, at: e.at + 1 }), 'later events sort later');
  });

  it('signs the query as Tencent does, keeping the configured URL query', () => {
    const url = new URL(callbackUrl('https://example.com/cb?tenant=7', { sdkAppId: 1400000001, command: 'Room.CallbackAfterCreateRoom', token: 'xxxxyyyy', requestTime: 1669872112 }));
    assert.equal(url.searchParams.get('tenant'), '7');
    assert.equal(url.searchParams.get('SdkAppid'), '1400000001');
    assert.equal(url.searchParams.get('Sign'), '17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061');
    assert.ok(verifyCallback(url.searchParams, 'xxxxyyyy', 1669872112 + 30));
    assert.ok(!verifyCallback(url.searchParams, 'xxxxyyyy', 1669872112 + 61), 'stale after a minute');
    const unsigned = new URL(callbackUrl('http://example.com/cb', { sdkAppId: 1, command: 'x' }));
    assert.equal(unsigned.searchParams.has('Sign'), false);
    assert.equal(signOf('a', 1), signOf('a', '1'));
  });
});
