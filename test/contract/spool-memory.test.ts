// The CallbackSpool contract over the in-memory spool.
import { MemorySpool } from '../../src/callbacks/spool.js';
import { spoolContract } from './spool-contract.js';

spoolContract('memory', async () => ({ spool: new MemorySpool(), cleanup: async () => {} }));
