import { before, describe, test } from 'node:test';
import { chain } from './support/interop-chain.js';
import { buildOurs } from './support/processes.js';

/**
 * Issue 8, section 2, with the double of the original (test/support/original-double.ts): a chain
 * of ours and peers of the original forms one full mesh in either start order, with one TCP
 * connection per pair as the kernel counts them. `interop-original.test.ts` runs the same chain
 * against the real program.
 */
describe('a chain of ours and the original, each joining its predecessor', () => {
  before(() => buildOurs());

  for (const first of ['ours', 'original'] as const) {
    test(`with the original's double, ${first} first: one full mesh, one connection per pair`, async (t) => {
      await chain(t, 'double', first);
    });
  }
});
