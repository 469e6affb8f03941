// Callback deliveries: the app's configuration (shown, set, or stopped), counts and lag, the
// given-up deliveries (paged), and re-sending or discarding one or all of them. A discard or a
// stop cannot be undone, so each asks to be confirmed on the page first.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, time } from './api.js';
import { ConfirmInPlace } from './confirm.js';

/** Seconds as people read them: 0 s, 4.2 s, 3 min, 2 h. */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

export function Callbacks() {
  const [config, setConfig] = useState<any>(undefined);
  const [counts, setCounts] = useState<any>(null);
  const [cursors, setCursors] = useState<string[]>(['']);
  const [items, setItems] = useState<any[]>([]);
  const [next, setNext] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  /** The discard waiting for its confirming click: a delivery's id, or all of them. */
  const [confirming, setConfirming] = useState<number | 'all' | null>(null);
  /** The configuration form: URL and commands (blank: every command), and the stop asking. */
  const [urlDraft, setUrlDraft] = useState('');
  const [commandsDraft, setCommandsDraft] = useState('');
  const [stopping, setStopping] = useState(false);
  /** Set while the form holds an edit: the page's refresh then leaves the fields alone. */
  const editing = useRef(false);
  const after = cursors[cursors.length - 1];
  const load = () =>
    Promise.all([api.get('/callbacks/config'), api.get('/callbacks/deliveries'), api.get(`/callbacks/deliveries/failed?limit=50${after ? `&after=${after}` : ''}`)]).then(
      ([c, n, f]) => {
        setConfig(c.config);
        if (!editing.current) {
          setUrlDraft(c.config?.url ?? '');
          setCommandsDraft(c.config?.commands?.join(', ') ?? '');
        }
        setCounts(n);
        setItems(f.items);
        setNext(f.next);
      },
      (e) => setError(e.message),
    );
  useEffect(() => {
    void load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [after]);
  const deliveries = (n: number) => `${n} ${n === 1 ? 'delivery' : 'deliveries'}`;
  /** Runs a re-send or discard, then says what it did and reads the list and counts again. */
  const change = async (call: () => Promise<any>, done: (answer: any) => string) => {
    setError('');
    setNotice('');
    setConfirming(null);
    setStopping(false);
    try {
      setNotice(done(await call()));
      editing.current = false;
      setCursors(['']);
      await load();
    } catch (e: any) {
      setError(e.message);
    }
  };
  const resend = (path: string, body: object) => change(() => api.post(path, body), (r) => `Re-queued ${deliveries(r.resent)}.`);
  const discard = (which: number | 'all') =>
    change(
      () => (which === 'all' ? api.post('/callbacks/deliveries/discard', { all: true }) : api.del(`/callbacks/deliveries/failed/${which}`)),
      (r) => `Discarded ${deliveries(r.discarded)}.`,
    );
  const saveConfig = (e: Event) => {
    e.preventDefault();
    const commands = commandsDraft.split(/[\s,]+/).filter((c) => c !== '');
    void change(
      () => api.post('/callbacks/config', commands.length > 0 ? { url: urlDraft.trim(), commands } : { url: urlDraft.trim() }),
      (r) => `Saved: callbacks go to ${r.config.url} (${r.config.commands ? r.config.commands.join(', ') : 'every command'}).`,
    );
  };
  const stopCallbacks = () => change(() => api.post('/callbacks/config/delete', {}), () => 'Callbacks stopped.');
  const edit = (set: (v: string) => void) => (e: Event) => {
    editing.current = true;
    set((e.target as HTMLInputElement).value);
  };
  const card = (n: string | number, l: string, test: string) => (
    <div class="card" data-test={test}>
      <div class="n">{n}</div>
      <div class="l">{l}</div>
    </div>
  );
  return (
    <>
      <h1>Callbacks</h1>
      {error && <div class="error">{error}</div>}
      {notice && <div class="notice" data-test="notice">{notice}</div>}
      <p data-test="callback-config">
        {config === undefined
          ? 'Loading…'
          : config === null
            ? 'No callback configuration: set one below, in the config file, with the Tencent room_config commands, or POST /api/v1/callbacks/config.'
            : (
                <>
                  Sending to <code>{config.url}</code> ({config.commands ? config.commands.join(', ') : 'every command'}; {config.signed ? 'signed' : 'unsigned'}; set in{' '}
                  {config.source === 'file' ? 'the config file' : 'REST'}).
                </>
              )}
      </p>
      <form class="row" onSubmit={saveConfig} data-test="callback-form">
        <input id="cbUrl" aria-label="Callback URL" type="url" required placeholder="https://backend.example.com/rostrum" size={40} value={urlDraft} onInput={edit(setUrlDraft)} />
        <input id="cbCommands" aria-label="Commands" placeholder="every command" size={40} value={commandsDraft} onInput={edit(setCommandsDraft)} title="Command names, separated by commas or spaces; blank for every command" />
        <button class="primary" type="submit" data-test="cb-save">Save</button>
        {config &&
          (stopping ? (
            <ConfirmInPlace
              label="Confirm stop"
              warning="No callback is sent until a configuration is set again, the config file's included."
              test="cb-stop"
              onConfirm={() => void stopCallbacks()}
              onCancel={() => setStopping(false)}
            />
          ) : (
            <button type="button" class="danger" onClick={() => setStopping(true)} data-test="cb-stop">Stop callbacks</button>
          ))}
      </form>
      <p class="muted">A change applies to events committed after it; the config file's token still signs. Commands: names separated by commas or spaces, blank for every command.</p>
      {counts && (
        <div class="cards">
          {card(counts.pending, 'pending', 'cb-pending')}
          {card(counts.failed, 'failed (given up)', 'cb-failed')}
          {card(counts.delivered, 'delivered (this process)', 'cb-delivered')}
          {card(duration(counts.lagSeconds), 'callback lag', 'cb-lag')}
        </div>
      )}
      <h2>Given up</h2>
      <div class="row">
        <button class="primary" disabled={!counts?.failed} onClick={() => resend('/callbacks/deliveries/resend', { all: true })} data-test="resend-all">
          Re-send all
        </button>
        {confirming === 'all' ? (
          <ConfirmInPlace
            label="Confirm discard all"
            warning="Every given-up delivery of the app is removed for good and never sent; this cannot be undone."
            test="discard-all"
            onConfirm={() => discard('all')}
            onCancel={() => setConfirming(null)}
          />
        ) : (
          <>
            <button class="danger" disabled={!counts?.failed} onClick={() => setConfirming('all')} data-test="discard-all">Discard all</button>
            <span class="muted">Re-sent deliveries go after their room's queued ones, with a fresh give-up age. Discarded ones are never sent.</span>
          </>
        )}
      </div>
      <table data-test="failed">
        <thead>
          <tr><th>ID</th><th>Room</th><th>Seq</th><th>Command</th><th>Event</th><th>Given up</th><th>Attempts</th><th>Last error</th><th></th></tr>
        </thead>
        <tbody>
          {items.map((d) => [
            <tr key={d.id} data-test={`delivery-${d.id}`} class="delivery">
              <td><a href="#/callbacks" onClick={(e) => (e.preventDefault(), setOpen(open === d.id ? null : d.id))}>{d.id}</a></td>
              <td>{d.roomId ? <a href={`#/rooms/${encodeURIComponent(d.roomId)}`}>{d.roomId}</a> : ''}</td>
              <td>{d.seq}</td><td>{d.command}</td><td>{time(d.createdAt)}</td><td>{time(d.failedAt)}</td><td>{d.attempts}</td><td>{d.lastError}</td>
              <td>
                <div class="row">
                  {confirming === d.id ? (
                    <ConfirmInPlace label="Confirm discard" test="discard" onConfirm={() => discard(d.id)} onCancel={() => setConfirming(null)} />
                  ) : (
                    <>
                      <button onClick={() => resend(`/callbacks/deliveries/${d.id}/resend`, {})} data-test="resend">Re-send</button>
                      <button class="danger" onClick={() => setConfirming(d.id)} data-test="discard">Discard</button>
                    </>
                  )}
                </div>
              </td>
            </tr>,
            open === d.id && (
              <tr key={`${d.id}-body`}>
                <td colSpan={9}><pre class="events">{JSON.stringify(d.body, null, 2)}</pre></td>
              </tr>
            ),
          ])}
          {items.length === 0 && <tr><td colSpan={9} class="muted">No given-up deliveries.</td></tr>}
        </tbody>
      </table>
      <div class="row mt">
        <button disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <button disabled={!next} onClick={() => setCursors([...cursors, next])}>Older</button>
      </div>
    </>
  );
}
