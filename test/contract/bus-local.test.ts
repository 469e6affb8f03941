// The Bus contract over the in-process bus.
import { LocalBus } from '../../src/adapters/local-bus.js';
import { busContract } from './bus-contract.js';

busContract('local', async () => {
  const bus = new LocalBus();
  return { bus, cleanup: () => bus.close() };
});
