// Overview: rooms, members, seated, messages per second, callback lag; the latest audit entries.
import { useEffect, useState } from 'preact/hooks';
import { api, time } from './api.js';
import { duration } from './callbacks.js';

export function Overview() {
  const [stats, setStats] = useState<any>(null);
  const [recent, setRecent] = useState<any[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    let alive = true;
    const load = () =>
      Promise.all([api.stats(), api.get('/audit?limit=10')]).then(
        ([s, a]) => {
          if (!alive) return;
          setStats(s);
          setRecent(a.items);
        },
        (e) => setError(e.message),
      );
    void load();
    const t = setInterval(load, 5000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, []);
  const card = (n: string | number, l: string, test: string) => (
    <div class="card" data-test={test}>
      <div class="n">{n}</div>
      <div class="l">{l}</div>
    </div>
  );
  return (
    <>
      <h1>Overview</h1>
      {error && <div class="error">{error}</div>}
      {stats && (
        <div class="cards">
          {card(stats.rooms + (stats.complete ? '' : '+'), 'rooms', 'stat-rooms')}
          {card(stats.members + (stats.complete ? '' : '+'), 'members', 'stat-members')}
          {card(stats.seated, 'on seats', 'stat-seated')}
          {card(stats.messagesPerSecond, 'messages / s', 'stat-mps')}
          {card(duration(stats.callbackLag), 'callback lag', 'stat-lag')}
          {stats.callbacksFailed > 0 && (
            <a href="#/callbacks" class="card" data-test="stat-cb-failed">
              <div class="n">{stats.callbacksFailed}</div>
              <div class="l">callbacks given up</div>
            </a>
          )}
        </div>
      )}
      <h2>Latest moderation</h2>
      <table>
        <thead>
          <tr><th>Time</th><th>Surface</th><th>Actor</th><th>Action</th><th>Room</th><th>Target</th><th>Reason</th></tr>
        </thead>
        <tbody>
          {recent.map((e) => (
            <tr key={e.id}>
              <td>{time(e.at)}</td><td>{e.surface}</td><td>{e.actor}</td><td>{e.action}</td>
              <td>{e.roomId ? <a href={`#/rooms/${encodeURIComponent(e.roomId)}`}>{e.roomId}</a> : '(app)'}</td>
              <td>{e.target}</td><td>{e.reason}</td>
            </tr>
          ))}
          {recent.length === 0 && <tr><td colSpan={7} class="muted">Nothing yet.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
