// The Store contract over the in-memory adapter.
import { MemoryStore } from '../../src/adapters/memory/store.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
