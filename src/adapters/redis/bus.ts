// The Redis bus: committed events reach every node sharing one Redis. To be built (issue: many nodes).
import type { Bus } from '../../core/ports/bus.js';

export class RedisBus {
  static async open(_url: string, _nodeId: string): Promise<Bus> {
    throw new Error('the Redis bus is not built yet');
  }
}
