// Ids the core makes itself (deny and mute entries, seat requests, messages), so a write never
// needs the store to hand one back. Time-ordered within a process, unique across nodes.
import { randomBytes } from 'node:crypto';

const node = randomBytes(4).toString('hex');
let counter = 0;

export function newId(now: number): string {
  counter = (counter + 1) % 0x1000000;
  return `${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(5, '0')}${node}`;
}
