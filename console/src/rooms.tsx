// Rooms: search by id or name, paged by cursor.
import { useEffect, useState } from 'preact/hooks';
import { api, enc } from './api.js';

export function Rooms({ search }: { search: string }) {
  const [q, setQ] = useState(search);
  const [rooms, setRooms] = useState<any[]>([]);
  const [cursors, setCursors] = useState<string[]>(['']);
  const [next, setNext] = useState('');
  const [error, setError] = useState('');
  const after = cursors[cursors.length - 1];
  useEffect(() => {
    api.get(`/rooms?limit=50&after=${enc(after)}${search ? `&search=${enc(search)}` : ''}`).then(
      (r) => {
        setRooms(r.items);
        setNext(r.next);
        setError('');
      },
      (e) => setError(e.message),
    );
  }, [search, after]);
  useEffect(() => setCursors(['']), [search]);
  return (
    <>
      <h1>Rooms</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = `#/rooms?q=${enc(q)}`;
        }}
      >
        <input placeholder="Search by id or name" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-test="room-search" />
        <button class="primary" type="submit">Search</button>
      </form>
      {error && <div class="error">{error}</div>}
      <table data-test="rooms">
        <thead>
          <tr><th>Room</th><th>Name</th><th>Type</th><th>Owner</th><th>Members</th><th>Seats</th><th>Status</th></tr>
        </thead>
        <tbody>
          {rooms.map((r) => (
            <tr key={r.roomId}>
              <td><a href={`#/rooms/${enc(r.roomId)}`}>{r.roomId}</a></td>
              <td>{r.name}</td><td>{r.type}</td><td>{r.ownerId}</td><td>{r.memberCount}</td>
              <td>{r.isSeatEnabled ? `${r.seatedCount}/${r.seatCount}` : '—'}</td>
              <td><span class="pill">{r.status}</span></td>
            </tr>
          ))}
          {rooms.length === 0 && <tr><td colSpan={7} class="muted">No rooms.</td></tr>}
        </tbody>
      </table>
      <div class="row mt">
        <button disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button disabled={!next} onClick={() => setCursors([...cursors, next])}>Next</button>
      </div>
    </>
  );
}
