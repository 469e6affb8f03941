// The console shell: sign-in, navigation (hash routes), and the pages.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, type Me } from './api.js';
import { Overview } from './overview.js';
import { Rooms } from './rooms.js';
import { RoomPage } from './room.js';
import { Lists } from './lists.js';
import { Audit } from './audit.js';
import { Callbacks } from './callbacks.js';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onDone }: { onDone: (me: Me) => void }) {
  const [mode, setMode] = useState<'sig' | 'password'>('sig');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const body =
      mode === 'sig'
        ? { userSig: String(f.get('userSig') ?? '').trim() }
        : { sdkAppId: Number(f.get('sdkAppId')), identifier: String(f.get('identifier') ?? ''), password: String(f.get('password') ?? '') };
    setBusy(true);
    try {
      onDone(await api.signIn(body));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="signin" onSubmit={submit} data-test="signin">
      <h1>Rostrum console</h1>
      <div class="tabs row">
        <button type="button" class={mode === 'sig' ? 'on' : ''} onClick={() => setMode('sig')}>Admin UserSig</button>
        <button type="button" class={mode === 'password' ? 'on' : ''} onClick={() => setMode('password')} data-test="mode-password">Password</button>
      </div>
      {error && <div class="error" data-test="signin-error">{error}</div>}
      {mode === 'sig' ? (
        <>
          <label for="userSig">UserSig of an app admin</label>
          <textarea id="userSig" name="userSig" required />
        </>
      ) : (
        <>
          <label for="sdkAppId">SDKAppID</label>
          <input id="sdkAppId" name="sdkAppId" inputMode="numeric" required />
          <label for="identifier">Admin</label>
          <input id="identifier" name="identifier" required />
          <label for="password">Console password</label>
          <input id="password" name="password" type="password" required />
        </>
      )}
      <div class="row mt">
        <button class="primary" type="submit" disabled={busy}>Sign in</button>
      </div>
    </form>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const hash = useHash();
  useEffect(() => {
    api.me().then(
      (m) => {
        setSession(m);
        setMe(m);
      },
      () => setMe(null),
    );
  }, []);
  if (me === undefined) return <main class="muted">Loading…</main>;
  if (me === null)
    return (
      <SignIn
        onDone={(m) => {
          setSession(m);
          setMe(m);
        }}
      />
    );
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  let page;
  const room = /^\/rooms\/(.+)$/.exec(path);
  // Keyed by the room, so going from one room to another (back, forward, an edited address) starts
  // afresh: no dismiss waiting for its confirmation, no "no longer exists" carried over.
  if (room) page = <RoomPage key={room[1]} roomId={decodeURIComponent(room[1])} />;
  else if (path === '/rooms') page = <Rooms search={params.get('q') ?? ''} />;
  else if (path === '/lists') page = <Lists />;
  else if (path === '/audit') page = <Audit />;
  else if (path === '/callbacks') page = <Callbacks />;
  else page = <Overview />;
  const link = (href: string, label: string, active: boolean) => (
    <a href={href} class={active ? 'active' : ''}>{label}</a>
  );
  return (
    <>
      <header>
        <span class="brand">Rostrum</span>
        <nav>
          {link('#/', 'Overview', path === '/' || path === '')}
          {link('#/rooms', 'Rooms', path.startsWith('/rooms'))}
          {link('#/lists', 'Bans & mutes', path === '/lists')}
          {link('#/audit', 'Audit log', path === '/audit')}
          {link('#/callbacks', 'Callbacks', path === '/callbacks')}
        </nav>
        <span class="who" data-test="who">
          app {me.sdkAppId} · {me.identifier}
          <button
            onClick={async () => {
              await api.signOut().catch(() => undefined);
              setSession(null);
              setMe(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
