// The in-process bus: one node, events delivered synchronously in publish order.
import type { Bus, EventHandler } from '../core/ports/bus.js';
import type { RoomEvent } from '../core/events.js';

export class LocalBus implements Bus {
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
