// Open-loop driver, in its own process. Requests are scheduled at a fixed rate whatever the
// server's latency, and each latency runs from the request's scheduled time: a server that
// stalls is charged for the requests queued behind the stall (no coordinated omission, unlike a
// closed loop or autocannon's per-second bursts).
//
// Work is split into lanes: a lane runs its steps in order, one at a time (pick then kick of one
// member; enterRoom then exitRoom of one user). A scheduled slot goes to the lane idle longest.
// A lane is HTTP (keep-alive POSTs) or one WebSocket to the realtime gateway.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { serveParent, sleep } from './lib/child.js';
import { keepAliveAgent, post } from './lib/http.js';

export interface HttpStep {
  tag: string;
  path: string;
  body: string;
}
export interface WsStep {
  tag: string;
  /** The op's frame without its `id`. */
  frame: Record<string, unknown>;
}
export type LaneSpec = { http: HttpStep[] } | { ws: string; steps: WsStep[] };

export interface SetupMsg {
  port: number;
  lanes: LaneSpec[];
  /** HTTP: every response body must contain this (e.g. '"ErrorCode":0,'). WS replies need code 0. */
  expect?: string;
}

export interface RunMsg {
  ratePerSecond: number;
  durationMs: number;
  /** Keep the latencies (false for a warm-up). */
  record: boolean;
}

export interface RunResult {
  scheduled: number;
  completed: number;
  /** Slots still waiting for an idle lane when the run ended (the server fell behind). */
  backlog: number;
  latencies: Record<string, number[]>;
  failures: number;
  firstFailure?: string;
  /** This process's own event-loop delay, ms: how much of the latency the measuring side may add. */
  driverDelay: { p99: number; max: number };
}

interface Lane {
  tags: string[];
  next: number;
  run(step: number): Promise<void>;
}

const agent = keepAliveAgent(256);
let lanes: Lane[] = [];
let sockets: WebSocket[] = [];
let port = 0;
let expect: string | undefined;

let recording = false;
let latencies: Record<string, number[]> = {};
let failures = 0;
let firstFailure: string | undefined;
function fail(what: string): void {
  failures++;
  firstFailure ??= what.slice(0, 300);
}

function httpLane(steps: HttpStep[]): Lane {
  return {
    tags: steps.map((s) => s.tag),
    next: 0,
    async run(i) {
      const s = steps[i];
      const body = await post(agent, port, s.path, s.body);
      if (expect && !body.includes(expect)) fail(`${s.tag}: ${body}`);
    },
  };
}

/** Opens the socket; each op's reply is matched to it by id. */
function wsLane(url: string, steps: WsStep[]): Promise<Lane> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let id = 0;
    let waiting: { id: number; tag: string; resolve(): void } | undefined;
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as { id?: unknown; code?: number };
      if (!waiting || reply.id !== waiting.id) return; // an event of the room, not the reply
      const w = waiting;
      waiting = undefined;
      if (reply.code !== 0) fail(`${w.tag}: ${data.toString()}`);
      w.resolve();
    });
    ws.once('open', () => {
      ws.removeListener('error', reject);
      ws.on('error', (e) => fail(`socket: ${e.message}`));
      ws.on('close', (code) => {
        fail(`socket closed ${code}`);
        waiting?.resolve(); // no reply will come
        waiting = undefined;
      });
      sockets.push(ws);
      resolve({
        tags: steps.map((s) => s.tag),
        next: 0,
        run(i) {
          const s = steps[i];
          return new Promise<void>((done) => {
            waiting = { id: ++id, tag: s.tag, resolve: done };
            ws.send(JSON.stringify({ id, ...s.frame }));
          });
        },
      });
    });
  });
}

async function setup(msg: SetupMsg): Promise<void> {
  port = msg.port;
  expect = msg.expect;
  lanes = [];
  for (const l of msg.lanes) lanes.push('http' in l ? httpLane(l.http) : await wsLane(l.ws, l.steps));
}

/** Runs the lane's next step; the latency counts from `scheduledAt`. */
async function step(lane: Lane, scheduledAt: number): Promise<void> {
  const i = lane.next;
  lane.next = (i + 1) % lane.tags.length;
  try {
    await lane.run(i);
    if (recording) (latencies[lane.tags[i]] ??= []).push(performance.now() - scheduledAt);
  } catch (e) {
    fail(String(e));
  }
}

async function run(msg: RunMsg): Promise<RunResult> {
  latencies = {};
  failures = 0;
  firstFailure = undefined;
  recording = msg.record;
  const idle = [...lanes];
  const due: number[] = [];
  let scheduled = 0;
  let completed = 0;
  let inFlight = 0;
  const dispatch = () => {
    while (due.length > 0 && idle.length > 0) {
      const lane = idle.shift()!;
      const at = due.shift()!;
      inFlight++;
      step(lane, at).finally(() => {
        inFlight--;
        completed++;
        idle.push(lane);
        dispatch();
      });
    }
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const interval = 1000 / msg.ratePerSecond;
  const start = performance.now();
  const end = start + msg.durationMs;
  for (let now = start; now < end; now = performance.now()) {
    // Every slot due by now, each with its own scheduled time.
    while (start + scheduled * interval <= now) due.push(start + scheduled++ * interval);
    dispatch();
    await sleep(1);
  }
  const backlog = due.length;
  due.length = 0;
  recording = false;
  // Let the lanes finish what is in flight, then end each cycle (kick after pick, exit after
  // enter) so that the next run starts from the same state.
  const settleEnd = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < settleEnd) await sleep(2);
  await Promise.all(
    lanes.map(async (lane) => {
      while (lane.next !== 0) await step(lane, performance.now());
    }),
  );
  delay.disable();
  return {
    scheduled,
    completed,
    backlog,
    latencies,
    failures,
    firstFailure,
    driverDelay: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
  };
}

serveParent(
  {
    async setup(msg: SetupMsg) {
      for (const ws of sockets) ws.terminate();
      sockets = [];
      await setup(msg);
      return { lanes: lanes.length };
    },
    run: (msg: RunMsg) => run(msg),
    stop() {
      for (const ws of sockets) ws.terminate();
      sockets = [];
    },
  },
  {},
);
