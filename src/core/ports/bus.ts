// The event-bus port: committed domain events fan out through it to every node's realtime
// gateway (and, later, the callback relay). adapters/local-bus is the in-process default.
import type { RoomEvent } from '../events.js';

export type EventHandler = (event: RoomEvent) => void;

export interface Bus {
  /** Delivers to every subscriber, in publish order. */
  publish(event: RoomEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(handler: EventHandler): () => void;
  close(): Promise<void>;
}
