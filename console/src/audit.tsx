// The audit log: filters (room, actor, target, action, since) and paging by cursor.
import { useEffect, useState } from 'preact/hooks';
import { api, enc, time } from './api.js';

const ACTIONS = ['', 'kickOffSeat', 'kickOut', 'ban', 'unban', 'mute', 'unmute', 'lockSeat', 'unlockSeat', 'dismissRoom', 'adminMessage'];

export function Audit() {
  const [filters, setFilters] = useState({ roomId: '', actor: '', target: '', action: '', since: '' });
  const [applied, setApplied] = useState(filters);
  const [cursors, setCursors] = useState<string[]>(['']);
  const [items, setItems] = useState<any[]>([]);
  const [next, setNext] = useState('');
  const [error, setError] = useState('');
  const before = cursors[cursors.length - 1];
  useEffect(() => {
    const q = new URLSearchParams({ limit: '50' });
    if (applied.roomId) q.set('roomId', applied.roomId);
    if (applied.actor) q.set('actor', applied.actor);
    if (applied.target) q.set('target', applied.target);
    if (applied.action) q.set('action', applied.action);
    if (applied.since) q.set('from', String(new Date(applied.since).getTime()));
    if (before) q.set('before', before);
    api.get(`/audit?${q}`).then(
      (r) => {
        setItems(r.items);
        setNext(r.next);
        setError('');
      },
      (e) => setError(e.message),
    );
  }, [applied, before]);
  const field = (k: keyof typeof filters, placeholder: string) => (
    <input placeholder={placeholder} value={filters[k]} onInput={(e) => setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value })} data-test={`filter-${k}`} />
  );
  return (
    <>
      <h1>Audit log</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors(['']);
          setApplied(filters);
        }}
      >
        {field('roomId', 'room')}
        {field('actor', 'actor')}
        {field('target', 'target (user, IP)')}
        <select value={filters.action} onChange={(e) => setFilters({ ...filters, action: (e.target as HTMLSelectElement).value })}>
          {ACTIONS.map((a) => <option value={a} key={a}>{a || 'any action'}</option>)}
        </select>
        <input type="datetime-local" value={filters.since} onInput={(e) => setFilters({ ...filters, since: (e.target as HTMLInputElement).value })} />
        <button class="primary" type="submit">Filter</button>
      </form>
      {error && <div class="error">{error}</div>}
      <table data-test="audit">
        <thead>
          <tr><th>Time</th><th>Surface</th><th>Actor</th><th>Action</th><th>Room</th><th>Target</th><th>Reason</th><th>Expires</th></tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id} data-test="audit-row">
              <td>{time(e.at)}</td><td>{e.surface}</td><td>{e.actor}</td><td>{e.action}</td>
              <td>{e.roomId ? <a href={`#/rooms/${enc(e.roomId)}`}>{e.roomId}</a> : '(app)'}</td>
              <td>{e.targetType === 'ip' ? `IP ${e.target}` : e.targetType === 'seat' ? `seat ${e.target}` : e.target}</td>
              <td>{e.reason}</td><td>{time(e.expiresAt)}</td>
            </tr>
          ))}
          {items.length === 0 && <tr><td colSpan={8} class="muted">No entries.</td></tr>}
        </tbody>
      </table>
      <div class="row mt">
        <button disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button disabled={!next} onClick={() => setCursors([...cursors, next])}>Older</button>
      </div>
    </>
  );
}
