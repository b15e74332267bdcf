import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DelayEstimate, RepairTiming } from '../src/core/repair-timing.js';

/** The defaults' bases and cap. */
const WAITS = { graftTimeoutMs: 250, graftRetryMs: 100, repairWaitMaxMs: 2_000 };

describe('repair timing (learned GRAFT waits)', () => {
  test('before any sample, each wait is its configured base', () => {
    const timing = new RepairTiming(WAITS);
    assert.equal(timing.graftTimeoutMs, 250);
    assert.equal(timing.graftRetryMs, 100);
  });

  test('fast GRAFT answers keep the bases: a wait never falls below its base', () => {
    const timing = new RepairTiming(WAITS);
    for (let i = 0; i < 20; i++) timing.graftRoundTrip(5);
    assert.equal(timing.graftTimeoutMs, 250);
    assert.equal(timing.graftRetryMs, 100);
  });

  test('slow GRAFT answers lengthen both waits to mean + 4 deviations, up to the cap', () => {
    const timing = new RepairTiming(WAITS);
    timing.graftRoundTrip(300); // first sample: mean 300, deviation 150
    assert.equal(timing.graftTimeoutMs, 900);
    assert.equal(timing.graftRetryMs, 900);
    for (let i = 0; i < 5; i++) timing.graftRoundTrip(5_000);
    assert.equal(timing.graftTimeoutMs, 2_000);
    assert.equal(timing.graftRetryMs, 2_000);
  });

  test('the estimate follows RFC 6298 (gains 1/8 and 1/4) and comes back down', () => {
    const estimate = new DelayEstimate();
    estimate.sample(100);
    estimate.sample(200); // deviation 0.75*50 + 0.25*100 = 62.5, mean 112.5
    assert.equal(estimate.wait(0, 10_000), Math.round(112.5 + 4 * 62.5));
    for (let i = 0; i < 100; i++) estimate.sample(10);
    assert.ok(estimate.wait(0, 10_000) < 20, 'a quiet host brings the wait back down');
  });

  test('a cap below the base leaves the base', () => {
    const timing = new RepairTiming({ graftTimeoutMs: 250, graftRetryMs: 100, repairWaitMaxMs: 0 });
    timing.graftRoundTrip(1_000);
    assert.equal(timing.graftTimeoutMs, 250);
    assert.equal(timing.graftRetryMs, 100);
  });
});
