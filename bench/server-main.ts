// A Rostrum server for the benchmarks, in its own process: fresh SQLite data dir, no request
// logging, the app from BENCH_APP (JSON). Prints nothing; tells the runner its port over IPC.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../src/core/model.js';
import { startServer } from '../src/server.js';
import { onAbort, serveParent } from './lib/child.js';

const app = JSON.parse(process.env.BENCH_APP ?? '') as App;
const dataDir = mkdtempSync(join(tmpdir(), 'rostrum-bench-'));
onAbort(() => rmSync(dataDir, { recursive: true, force: true }));
const server = await startServer({ port: 0, dataDir, apps: [app], logger: false });

serveParent(
  {
    /** Members enter through the core, as the realtime gateway would. */
    async enter(msg: { roomId: string; userIds: string[] }) {
      for (let i = 0; i < msg.userIds.length; i += 200) {
        await Promise.all(
          msg.userIds
            .slice(i, i + 200)
            .map((userId) => server.engine.enterRoom(app.sdkAppId, msg.roomId, userId, { clientIp: '127.0.0.1', connId: '' })),
        );
      }
    },
    /** Open realtime connections. */
    connections: () => server.realtime.connectionCount,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  },
  { port: server.port },
);
