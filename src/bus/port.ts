// The event-bus port: committed domain events fan out through it to every node's realtime
// gateway. In-process by default; a Redis adapter replaces it for several nodes.
import type { RoomEvent } from '../core/events.js';

export type EventHandler = (event: RoomEvent) => void;

export interface Bus {
  publish(event: RoomEvent): void;
  subscribe(handler: EventHandler): () => void;
  close(): Promise<void>;
}

export class MemoryBus implements Bus {
  private readonly handlers = new Set<EventHandler>();

  publish(event: RoomEvent): void {
    for (const h of this.handlers) h(event);
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
