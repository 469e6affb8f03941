// The Bus contract over the Redis bus: two instances on one random prefix act as two nodes.
import { RedisBus } from '../../src/adapters/redis/bus.js';
import { busContract } from './bus-contract.js';
import { dropPrefix, freshPrefixUrl, redisSkip } from './redis-support.js';

const skip = await redisSkip();

busContract(
  'redis',
  async () => {
    const url = freshPrefixUrl();
    const bus = await RedisBus.open(url, 'nodeA');
    const peer = await RedisBus.open(url, 'nodeB');
    return {
      bus,
      peer,
      async cleanup() {
        await bus.close();
        await peer.close();
        await dropPrefix(url);
      },
    };
  },
  { shared: true, skip },
);
