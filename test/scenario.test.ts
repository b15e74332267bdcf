import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario } from '../src/scenario/file.js';
import { scenarioFromFlags } from '../src/scenario/flags.js';
import { ScenarioError } from '../src/scenario/model.js';
import { resolveTimeline } from '../src/scenario/timeline.js';

describe('fault flags', () => {
  it('read kill, partition, churn, latency and loss in their documented syntax', () => {
    const s = scenarioFromFlags(
      {
        kill: ['20%@5s'],
        partition: ['2@5s-15s'],
        churn: ['2/s'],
        latency: '20ms±5ms',
        loss: '1%',
      },
      30_000,
    );
    assert.deepEqual(s.shape, { latencyMs: 20, jitterMs: 5, loss: 0.01, bandwidthBps: null });
    assert.deepEqual(
      s.steps.map((x) => x.kind),
      ['churn', 'kill', 'partition'],
    );
    assert.deepEqual(s.steps[1], { kind: 'kill', at: 5_000, select: { fraction: 0.2 } });
    assert.deepEqual(s.steps[2], {
      kind: 'partition',
      at: 5_000,
      until: 15_000,
      groups: [0.5, 0.5],
    });
    assert.deepEqual(s.steps[0], {
      kind: 'churn',
      at: 0,
      until: 30_000,
      perSecond: 2,
      leave: 'kill',
    });
  });

  it('refuse a malformed value with an error naming the flag', () => {
    assert.throws(
      () => scenarioFromFlags({ kill: ['20%'] }, 1_000),
      (e: unknown) =>
        e instanceof ScenarioError && e.code === 'SCENARIO_FLAG' && /--kill/.test(e.message),
    );
    assert.throws(
      () => scenarioFromFlags({ partition: ['2@9s-3s'] }, 1_000),
      /--partition: '9s-3s' ends before/,
    );
    assert.throws(
      () => scenarioFromFlags({ latency: 'fast' }, 1_000),
      /--latency: 'fast' is not a latency/,
    );
  });
});

describe('scenario files', () => {
  it('read YAML with the same value syntax as the flags', () => {
    const s = parseScenario(
      [
        'latency: 20ms±5ms',
        'steps:',
        '  - { at: 5s, kill: 20% }',
        '  - { at: 5s, partition: 2, until: 15s }',
        '  - { at: 0s, churn: 2/s, until: 30s, leave: stop }',
        '  - { at: 20s, loss: 5% }',
      ].join('\n'),
      'run.yaml',
    );
    assert.equal(s.shape.latencyMs, 20);
    assert.deepEqual(
      s.steps.map((x) => x.kind),
      ['churn', 'kill', 'partition', 'shape'],
    );
  });

  it('name the file, line and field of a bad value', () => {
    const text = ['steps:', '  - at: 5s', '    kill: 20%', '  - at: soon', '    stop: 3'].join(
      '\n',
    );
    assert.throws(
      () => parseScenario(text, 'bad.yaml'),
      (e: unknown) =>
        e instanceof ScenarioError &&
        e.code === 'SCENARIO_SCHEMA' &&
        /^bad\.yaml:4:\d+: steps\.1\.at: 'soon' is not a duration/.test(e.message),
    );
  });

  it('name the line of an unknown field and of a step with two actions, in JSON too', () => {
    const text =
      '{\n  "steps": [\n    { "at": 1000, "kill": "10%", "stop": 3 }\n  ],\n  "jitter": 4\n}';
    assert.throws(
      () => parseScenario(text, 'bad.json'),
      (e: unknown) =>
        e instanceof ScenarioError &&
        /bad\.json:5:\d+: jitter: unknown field/.test(e.message) &&
        /bad\.json:3:\d+: steps\.0: a step has one action, not kill and stop/.test(e.message),
    );
  });

  it('report a syntax error with its line', () => {
    assert.throws(
      () => parseScenario('steps:\n  - { at: 5s, kill: 20%\n', 'broken.yaml'),
      (e: unknown) =>
        e instanceof ScenarioError &&
        e.code === 'SCENARIO_SYNTAX' &&
        /^broken\.yaml:\d+:\d+/.test(e.message),
    );
  });
});

describe('timeline', () => {
  const scenario = scenarioFromFlags(
    { kill: ['20%@1s'], partition: ['30%,70%@2s-4s'], churn: ['5/s@0s-3s'], restart: ['all@5s'] },
    10_000,
  );

  it('is the same for the same seed and differs for another', () => {
    const a = resolveTimeline(scenario, { peers: 100, seed: 1 });
    assert.deepEqual(resolveTimeline(scenario, { peers: 100, seed: 1 }), a);
    assert.notDeepEqual(resolveTimeline(scenario, { peers: 100, seed: 2 }).actions, a.actions);
  });

  it('kills the asked share of the running peers and partitions into groups of the asked sizes', () => {
    const t = resolveTimeline(scenario, { peers: 100, seed: 3 });
    const kill = t.actions.find((a) => a.kind === 'kill' && a.at === 1_000);
    assert.ok(kill !== undefined && 'peers' in kill);
    const partition = t.actions.find((a) => a.kind === 'partition');
    assert.ok(partition !== undefined && partition.kind === 'partition');
    const [small, large] = partition.groups.map((g) => g.length);
    const running = (small ?? 0) + (large ?? 0);
    assert.equal(small, Math.round(0.3 * running));
    assert.ok(t.actions.some((a) => a.kind === 'heal' && a.at === 4_000));
    assert.ok(t.totalPeers > 100, 'churn adds new peers after the initial ones');
  });
});
