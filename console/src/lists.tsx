// App-wide deny and mute lists, with app-wide ban/mute by user or IP.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { EntryTable } from './room.js';

export function Lists() {
  const [bans, setBans] = useState<any[]>([]);
  const [mutes, setMutes] = useState<any[]>([]);
  const [subject, setSubject] = useState('');
  const [kind, setKind] = useState<'userId' | 'ip'>('userId');
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const load = () =>
    Promise.all([api.get('/bans?limit=500'), api.get('/mutes?limit=500')]).then(
      ([b, m]) => {
        setBans(b.items);
        setMutes(m.items);
      },
      (e) => setError(e.message),
    );
  useEffect(() => void load(), []);
  const act = async (path: string, body: object) => {
    setError('');
    try {
      await api.post(path, body);
      await load();
    } catch (e: any) {
      setError(e.message);
    }
  };
  const subj = (k: string, v: string) => (k === 'ip' ? { ip: v } : { userId: v });
  return (
    <>
      <h1>Bans &amp; mutes (app-wide)</h1>
      <p class="muted">Room-level lists are on each room's page.</p>
      {error && <div class="error">{error}</div>}
      <div class="row">
        <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'userId' | 'ip')}>
          <option value="userId">user</option>
          <option value="ip">IP</option>
        </select>
        <input placeholder={kind === 'ip' ? 'IP address' : 'user id'} value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
        <input placeholder="Reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} size={30} />
        <button class="danger" disabled={!subject} onClick={() => act('/ban', { ...subj(kind, subject), reason })}>Ban everywhere</button>
        <button disabled={!subject} onClick={() => act('/mute', { ...subj(kind, subject), reason })}>Mute everywhere</button>
      </div>
      <div class="grid2">
        <div>
          <h2>Banned</h2>
          <EntryTable entries={bans} test="app-bans" lift="Unban" onLift={(e) => act('/unban', subj(e.subjectType, e.subject))} />
        </div>
        <div>
          <h2>Muted</h2>
          <EntryTable entries={mutes} test="app-mutes" lift="Unmute" onLift={(e) => act('/unmute', subj(e.subjectType, e.subject))} />
        </div>
      </div>
    </>
  );
}
