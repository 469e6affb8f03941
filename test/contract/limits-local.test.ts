// The Limits contract over the in-process adapter (one node: both views are the same counts).
import { LocalLimits } from '../../src/core/local-limits.js';
import { limitsContract } from './limits-contract.js';

limitsContract('local', async () => {
  const limits = new LocalLimits();
  return { a: limits, b: limits, cleanup: () => limits.close() };
});
