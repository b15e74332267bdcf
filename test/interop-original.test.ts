import { before, describe, test } from 'node:test';
import { chain } from './support/interop-chain.js';
import { buildOurs, ORIGINAL_BINARY } from './support/processes.js';

/**
 * Issue 8, section 2, against the real original: the chain of `interop.test.ts` with the program
 * built from `rozhkovdmitrii/naive-peer-exchange` (outside this repository) named by
 * NAIVE_PEER_ORIGINAL; skipped with a message when it is not set.
 */
describe('a chain of ours and the real original, each joining its predecessor', () => {
  before(() => (ORIGINAL_BINARY === undefined ? undefined : buildOurs()));

  for (const first of ['ours', 'original'] as const) {
    test(`with the real original, ${first} first: one full mesh, one connection per pair`, async (t) => {
      if (ORIGINAL_BINARY === undefined) {
        t.skip(
          'NAIVE_PEER_ORIGINAL not set: build rozhkovdmitrii/naive-peer-exchange outside this repository and name its naive-peer binary there to run this against the real program',
        );
        return;
      }
      await chain(t, 'real', first);
    });
  }
});
