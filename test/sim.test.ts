import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoreInput } from '../src/core/machine.js';
import { scenarioFromFlags } from '../src/scenario/flags.js';
import { DEFAULT_SHAPE, EMPTY_SCENARIO, type Scenario } from '../src/scenario/model.js';
import { CONNECT_TIMEOUT_MS, SimNetwork } from '../src/sim/network.js';
import type { SimProtocol } from '../src/sim/protocol.js';
import { hyparviewProtocol } from '../src/sim/protocols.js';
import { runSimulation, SIM_DEFAULTS, type SimulationOptions } from '../src/sim/run.js';
import { type FloodEvent, type FloodMessage, floodProtocol } from './support/flood-core.js';

const options = (
  peers: number,
  seed: number,
  scenario: Scenario = EMPTY_SCENARIO,
): SimulationOptions => ({
  ...SIM_DEFAULTS,
  peers,
  messages: 10,
  seed,
  scenario,
  durationMs: null,
});

/** Everything of a result but the wall-clock figures, which differ from run to run. */
const virtual = (r: ReturnType<typeof runSimulation>) => ({
  ...r.result,
  wall: null,
  samples: r.samples,
});

describe('simulator', () => {
  it('gives identical results for the same seed and a different schedule for another', () => {
    const scenario = scenarioFromFlags(
      { kill: ['10%@300ms'], latency: '5ms±2ms', loss: '2%' },
      2_000,
    );
    const a = runSimulation(floodProtocol, options(200, 11, scenario));
    const b = runSimulation(floodProtocol, options(200, 11, scenario));
    assert.deepEqual(virtual(b), virtual(a));
    const c = runSimulation(floodProtocol, options(200, 12, scenario));
    assert.notDeepEqual(
      c.result.reach.map((m) => [m.origin, m.curve]),
      a.result.reach.map((m) => [m.origin, m.curve]),
    );
  });

  it('shows loss as retransmission delay: every message arrives, later', () => {
    const clean = runSimulation(floodProtocol, options(200, 5)).result;
    const lossy = runSimulation(
      floodProtocol,
      options(200, 5, scenarioFromFlags({ loss: '20%' }, 1_000)),
    ).result;
    assert.equal(lossy.messages.received, lossy.messages.expected);
    assert.equal(lossy.status, 'delivered');
    assert.ok(
      (lossy.latencyMs?.max ?? 0) >= 200,
      'a lost segment waits at least the 200 ms minimum RTO',
    );
    assert.ok((lossy.latencyMs?.p99 ?? 0) > (clean.latencyMs?.p99 ?? 0));
  });

  it('holds traffic across a partition and delivers it after the heal', () => {
    const scenario = scenarioFromFlags({ partition: ['2@0s-3s'] }, 5_000);
    const run = runSimulation(floodProtocol, { ...options(200, 9, scenario), durationMs: 5_000 });
    const r = run.result;
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      ['partition', 'heal'],
    );
    assert.equal(r.messages.received, r.messages.expected);
    // A message sent while the groups were apart completes only once they are healed.
    const during = r.reach.find((m) => m.sentAtMs >= 500 && m.sentAtMs < 3_000);
    assert.ok(during !== undefined && during.completeMs !== null);
    assert.ok(during.sentAtMs + during.completeMs >= 3_000);
  });

  it('fails a dial into a partition after the connect timeout and a dial to a dead peer at once', () => {
    const inputs: Array<{ at: number; input: CoreInput<FloodMessage> }> = [];
    let net: SimNetwork<FloodMessage, FloodEvent>;
    const recording: SimProtocol<FloodMessage, FloodEvent> = {
      ...floodProtocol,
      create: (self, env) => {
        const core = floodProtocol.create(self, env);
        return {
          handle: (input) => {
            if (self.id === 'n0') inputs.push({ at: net.now, input });
            return core.handle(input);
          },
        };
      },
    };
    net = new SimNetwork(recording, 3, 1);
    net.shape = { ...DEFAULT_SHAPE, latencyMs: 10 };
    net.start(0, null);
    net.start(1, null);
    net.partition([[0], [1]]);
    net.input(0, { kind: 'join', via: net.ref(1) });
    net.run(10_000);
    const failed = inputs.find((x) => x.input.kind === 'dial-failed');
    assert.deepEqual(failed, {
      at: CONNECT_TIMEOUT_MS,
      input: { kind: 'dial-failed', address: net.ref(1).address, reason: 'timeout' },
    });
    net.heal();
    net.input(0, { kind: 'join', via: net.ref(2) });
    net.run(20_000);
    assert.equal(inputs.filter((x) => x.input.kind === 'dial-failed').at(-1)?.at, 10_000 + 20);
  });

  it('tells the neighbours of a killed peer with a reset, and refuses dials to it', () => {
    const downs: string[] = [];
    const failures: string[] = [];
    const recording: SimProtocol<FloodMessage, FloodEvent> = {
      ...floodProtocol,
      create: (self, env) => {
        const core = floodProtocol.create(self, env);
        return {
          handle: (input) => {
            if (input.kind === 'peer-down') downs.push(`${self.id}<-${input.peer}:${input.reason}`);
            if (input.kind === 'dial-failed') failures.push(`${self.id}:${input.reason}`);
            return core.handle(input);
          },
        };
      },
    };
    const net = new SimNetwork(recording, 4, 2);
    net.start(0, null);
    net.start(1, 0);
    net.start(2, 0);
    net.run(100);
    assert.equal(net.degree(0), 2);
    net.kill(0, 'reset');
    net.run(200);
    assert.deepEqual(downs.sort(), ['n1<-n0:reset', 'n2<-n0:reset']);
    net.start(3, 0);
    net.run(300);
    assert.deepEqual(
      failures,
      ['n3:refused'],
      'nothing listens at a dead peer: refused after a round trip',
    );
    assert.equal(net.degree(3), 0);
  });

  it('delivers every message to 1,000 HyParView peers', () => {
    const r = runSimulation(hyparviewProtocol(), options(1_000, 7)).result;
    assert.equal(r.status, 'delivered');
    assert.equal(r.messages.expected, 10 * 999);
    assert.equal(r.messages.received, r.messages.expected);
    assert.equal(r.overlay.components, 1);
    assert.ok(r.overlay.payloadSendsPerDelivery < 2);
    assert.ok(r.simulated.convergeMs !== null);
  });
});
