// One room: its live seat grid, members, seat requests, deny and mute lists, recent events, and
// the moderation actions (each with the reason typed in the moderation panel). Dismissing the
// room cannot be undone, so it asks to be confirmed on the page first.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { addressable, api, enc, time } from './api.js';
import { ConfirmInPlace } from './confirm.js';

interface Detail {
  room: any;
  seats: any[];
  requests: any[];
}

export function RoomPage({ roomId }: { roomId: string }) {
  // Its API paths would reach other routes (/rooms/../ban is the app-wide /ban): none is built.
  if (!addressable(roomId)) {
    return (
      <>
        <h1>{roomId}</h1>
        <div class="error" data-test="error">
          A room called "." or ".." cannot be opened here: a URL reads its name as a step of the path, so no action on it can be sent. <a href="#/rooms">All rooms</a>
        </div>
      </>
    );
  }
  return <RoomView roomId={roomId} />;
}

function RoomView({ roomId }: { roomId: string }) {
  const base = `/rooms/${enc(roomId)}`;
  const [detail, setDetail] = useState<Detail | null>(null);
  const [members, setMembers] = useState<any[]>([]);
  const [bans, setBans] = useState<any[]>([]);
  const [mutes, setMutes] = useState<any[]>([]);
  const [events, setEvents] = useState<string[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('');
  const [ip, setIp] = useState('');
  const [message, setMessage] = useState('');
  const [gone, setGone] = useState(false);
  /** Dismiss room was clicked once and waits for its confirming click. */
  const [confirmingDismiss, setConfirmingDismiss] = useState(false);
  const timer = useRef<number | undefined>(undefined);

  const load = useCallback(async () => {
    try {
      const [d, m, b, u] = await Promise.all([api.get(base), api.get(`${base}/members?limit=100`), api.get(`${base}/bans`), api.get(`${base}/mutes`)]);
      setDetail(d);
      setMembers(m.items);
      setBans(b.items);
      setMutes(u.items);
    } catch (e: any) {
      if (e.code === 'room_not_found') setGone(true);
      else setError(e.message);
    }
  }, [base]);

  useEffect(() => {
    void load();
    // Live: every committed event of the room refreshes the view (coalesced).
    const source = new EventSource(`/console/events?roomId=${enc(roomId)}`);
    const on = (e: MessageEvent) => {
      const ev = JSON.parse(e.data);
      setEvents((xs) => [`${new Date(ev.at).toLocaleTimeString()}  #${ev.seq} ${ev.type} ${summary(ev)}`, ...xs].slice(0, 50));
      clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void load(), 150);
    };
    source.onmessage = on;
    return () => {
      source.close();
      clearTimeout(timer.current);
    };
  }, [roomId]);

  const act = async (label: string, path: string, body: object) => {
    setError('');
    setNotice('');
    try {
      await api.post(path, body);
      setNotice(label);
      await load();
    } catch (e: any) {
      setError(`${label}: ${e.message}`);
    }
  };
  const withReason = (extra: object = {}) => ({ ...extra, reason });
  const timed = () => (duration ? { durationSec: Number(duration) } : {});

  if (gone) return <><h1>{roomId}</h1><div class="notice">This room no longer exists. <a href="#/rooms">All rooms</a></div></>;
  if (!detail) return <main class="muted">{error || 'Loading…'}</main>;
  const { room, seats, requests } = detail;
  return (
    <>
      <h1 data-test="room-title">{room.roomId} <span class="muted">{room.name !== room.roomId ? room.name : ''}</span></h1>
      <div class="row muted">
        {room.type} · owner {room.ownerId} · <span data-test="member-count">{room.memberCount}</span> members · {room.takeSeatMode} · created {time(room.createTime * 1000)}
      </div>
      {error && <div class="error" data-test="error">{error}</div>}
      {notice && <div class="notice" data-test="notice">{notice}</div>}

      <h2>Moderation</h2>
      <div class="row">
        <input placeholder="Reason (kept in the audit log)" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} data-test="reason" size={40} />
        <select value={duration} onChange={(e) => setDuration((e.target as HTMLSelectElement).value)} data-test="duration">
          <option value="">ban/mute until lifted</option>
          <option value="600">10 minutes</option>
          <option value="3600">1 hour</option>
          <option value="86400">1 day</option>
          <option value="604800">7 days</option>
        </select>
      </div>
      <div class="row">
        <input placeholder="IP address" value={ip} onInput={(e) => setIp((e.target as HTMLInputElement).value)} data-test="ban-ip" />
        <button class="danger" disabled={!ip} onClick={() => act(`banned ${ip}`, `${base}/ban`, withReason({ ip, ...timed() }))}>Ban IP</button>
        <input placeholder="Message to the room" value={message} onInput={(e) => setMessage((e.target as HTMLInputElement).value)} size={30} />
        <button disabled={!message} onClick={() => act('message sent', `${base}/messages`, { text: message }).then(() => setMessage(''))}>Send</button>
        {confirmingDismiss ? (
          <ConfirmInPlace
            label="Confirm dismiss"
            warning="Every member is sent out and the room is gone; this cannot be undone."
            test="dismiss"
            onConfirm={() => (setConfirmingDismiss(false), act('room dismissed', `${base}/dismiss`, withReason()))}
            onCancel={() => setConfirmingDismiss(false)}
          />
        ) : (
          <button class="danger" onClick={() => setConfirmingDismiss(true)} data-test="dismiss">Dismiss room</button>
        )}
      </div>

      {seats.length > 0 && (
        <>
          <h2>Seats</h2>
          <div class="seats" data-test="seats">
            {seats.map((s) => (
              <div class={`seat ${s.userId ? 'taken' : ''} ${s.locked ? 'locked' : ''}`} key={s.index} data-test={`seat-${s.index}`}>
                <div class="idx">seat {s.index}{s.locked ? ' · locked' : ''}</div>
                <div class="user">{s.userId ?? <span class="muted">empty</span>}</div>
                <div class="row">
                  {s.userId && (
                    <button class="danger" onClick={() => act(`${s.userId} taken off seat ${s.index}`, `${base}/kick-off-seat`, withReason({ userId: s.userId }))} data-test="kick-off-seat">
                      Kick off
                    </button>
                  )}
                  <button onClick={() => act(`seat ${s.index} ${s.locked ? 'unlocked' : 'locked'}`, `${base}/seats/${s.index}/lock`, withReason({ locked: !s.locked }))}>
                    {s.locked ? 'Unlock' : 'Lock'}
                  </button>
                </div>
              </div>
            ))}
          </div>
        </>
      )}

      <h2>Members</h2>
      <table data-test="members">
        <thead><tr><th>User</th><th>Role</th><th>Name</th><th>IP</th><th>Joined</th><th></th></tr></thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.userId} data-test={`member-${m.userId}`}>
              <td>{m.userId}</td><td>{m.role}</td><td>{m.nameCard}</td><td>{m.clientIp}</td><td>{time(m.joinedAt)}</td>
              <td><div class="row">
                <button onClick={() => act(`${m.userId} kicked`, `${base}/kick`, withReason({ userId: m.userId }))} data-test="kick">Kick</button>
                <button class="danger" onClick={() => act(`${m.userId} banned`, `${base}/ban`, withReason({ userId: m.userId, ...timed() }))} data-test="ban">Ban</button>
                <button onClick={() => act(`${m.userId} muted`, `${base}/mute`, withReason({ userId: m.userId, ...timed() }))} data-test="mute">Mute</button>
              </div></td>
            </tr>
          ))}
          {members.length === 0 && <tr><td colSpan={6} class="muted">Nobody is in.</td></tr>}
        </tbody>
      </table>

      <div class="grid2">
        <div>
          <h2>Seat requests</h2>
          <table>
            <thead><tr><th>User</th><th>Kind</th><th>Seat</th><th>By</th><th>At</th></tr></thead>
            <tbody>
              {requests.map((r) => <tr key={r.id}><td>{r.userId}</td><td>{r.kind}</td><td>{r.index ?? 'any'}</td><td>{r.actor}</td><td>{time(r.createdAt)}</td></tr>)}
              {requests.length === 0 && <tr><td colSpan={5} class="muted">None pending.</td></tr>}
            </tbody>
          </table>
        </div>
        <div>
          <h2>Live events</h2>
          <div class="events" data-test="events">{events.length === 0 ? <span class="muted">Waiting for events…</span> : events.map((e, i) => <div key={i}>{e}</div>)}</div>
        </div>
      </div>

      <div class="grid2">
        <div>
          <h2>Banned here</h2>
          <EntryTable entries={bans} test="bans" onLift={(e) => act(`lifted ban of ${e.subject}`, `${base}/unban`, e.subjectType === 'ip' ? { ip: e.subject } : { userId: e.subject })} lift="Unban" />
        </div>
        <div>
          <h2>Muted here</h2>
          <EntryTable entries={mutes} test="mutes" onLift={(e) => act(`unmuted ${e.subject}`, `${base}/unmute`, e.subjectType === 'ip' ? { ip: e.subject } : { userId: e.subject })} lift="Unmute" />
        </div>
      </div>
    </>
  );
}

export function EntryTable({ entries, onLift, lift, test }: { entries: any[]; onLift: (e: any) => void; lift: string; test: string }) {
  return (
    <table data-test={test}>
      <thead><tr><th>Subject</th><th>Reason</th><th>By</th><th>Until</th><th></th></tr></thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id}>
            <td>{e.subjectType === 'ip' ? `IP ${e.subject}` : e.subject}</td><td>{e.reason}</td><td>{e.actor} <span class="muted">({e.origin})</span></td>
            <td>{e.expiresAt ? time(e.expiresAt) : 'lifted by hand'}</td>
            <td><button onClick={() => onLift(e)}>{lift}</button></td>
          </tr>
        ))}
        {entries.length === 0 && <tr><td colSpan={5} class="muted">None.</td></tr>}
      </tbody>
    </table>
  );
}

function summary(ev: any): string {
  const d = ev.data ?? {};
  if (ev.type === 'messageReceived') return `${d.from}: ${d.text}`;
  if (d.userId) return d.userId;
  return ev.actor ? `by ${ev.actor}` : '';
}
