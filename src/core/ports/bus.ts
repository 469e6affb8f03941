// The event-bus port: committed domain events fan out through it to every node's realtime
// gateway (and, later, the callback relay). adapters/local-bus is the in-process default;
// adapters/redis/bus carries events between nodes.
import type { RoomEvent } from '../events.js';

/** `remote`: the event was committed by another node (a shared bus). */
export type EventHandler = (event: RoomEvent, remote?: boolean) => void;

export interface Bus {
  /**
   * Delivers to every subscriber, in publish order: this node's subscribers synchronously, other
   * nodes' (a shared bus) a moment later. Never throws for a transport failure: a command that
   * committed must not fail because another node could not be told.
   */
  publish(event: RoomEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(handler: EventHandler): () => void;
  /**
   * A shared bus only: `handler` runs when events of other nodes may have been lost (the link to
   * the other nodes came back after a loss). Subscribers then read what they hold from the store.
   * Returns the unsubscribe function.
   */
  onResync?(handler: () => void): () => void;
  /** A shared bus only: whether events reach the other nodes now (readiness). */
  ready?(): boolean;
  /** A shared bus only: counters of events sent to, dropped for and received from other nodes. */
  readonly stats?: { readonly sent: number; readonly dropped: number; readonly received: number };
  close(): Promise<void>;
}
