// A Rostrum server for the benchmarks, in its own process: fresh SQLite data dir, no request
// logging, the app from BENCH_APP (JSON). Prints nothing; tells the runner its port over IPC.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../src/core/types.js';
import { startServer } from '../src/server.js';
import { serveParent } from './lib/child.js';

const app = JSON.parse(process.env.BENCH_APP ?? '') as App;
const dataDir = mkdtempSync(join(tmpdir(), 'rostrum-bench-'));
const server = await startServer({ port: 0, dataDir, apps: [app], logger: false });

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) for (let i = 0; i < 3; i++) g();
}

serveParent(
  {
    /** Members enter through the core, as the realtime gateway would. */
    async enter(msg: { roomId: string; userIds: string[] }) {
      for (const userId of msg.userIds) {
        await server.engine.enterRoom(app.sdkAppId, msg.roomId, userId, { clientIp: '127.0.0.1', connId: '' });
      }
    },
    /** Memory after a full GC (when node runs with --expose-gc). */
    memory() {
      gc();
      return { ...process.memoryUsage(), gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' };
    },
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  },
  { port: server.port },
);
