import type { Command } from 'commander';
import { mergeScenarios, readScenario } from '../scenario/file.js';
import { type FaultFlags, hasFaultFlags, scenarioFromFlags } from '../scenario/flags.js';
import { EMPTY_SCENARIO, type Scenario, ScenarioError } from '../scenario/model.js';
import { integerOption } from './parsers.js';

/**
 * The fault and link-shape flags and `--scenario`/`--seed`, for `emulate` (and `simulate`, which
 * spells the same flags): one syntax, parsed by `src/scenario/`.
 */
export interface FaultCommandOptions extends FaultFlags {
  readonly scenario?: string;
  readonly seed?: number;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the flags; `seed: false` for a command that has its own `--seed` (simulate's default 1). */
export function addFaultOptions(command: Command, { seed = true } = {}): Command {
  if (seed) {
    command.option(
      '--seed <SEED>',
      'Seed of every choice of the run (same seed, same schedule)',
      (t) => integerOption(t, 0, 2 ** 32 - 1),
    );
  }
  return command
    .option('--scenario <FILE>', 'Scenario file (YAML or JSON) of faults and link shapes')
    .option('--kill <N@T>', 'Kill peers (no goodbye): 20%@5s, 10@5s, all@5s (repeatable)', collect)
    .option('--stop <N@T>', 'Stop peers with a goodbye, like --kill (repeatable)', collect)
    .option('--restart <N@T>', 'Restart killed or stopped peers: all@20s (repeatable)', collect)
    .option('--add <N@T>', 'New peers join: 10@10s (repeatable)', collect)
    .option('--cut <N@T>', 'Break random links: 50@5s (repeatable)', collect)
    .option(
      '--partition <G@T-T>',
      'Split into groups and heal: 2@5s-15s, 30%,70%@5s (repeatable)',
      collect,
    )
    .option(
      '--churn <R/s@T-T>',
      'Peers leaving and as many joining: 2/s, 2/s@0s-30s (repeatable)',
      collect,
    )
    .option('--latency <L±J>', 'One-way link latency and jitter: 20ms±5ms')
    .option('--loss <P>', 'Segment loss, shown as TCP retransmission delay: 1%')
    .option('--bandwidth <BW>', 'Per link and direction: 10mbit');
}

/**
 * The scenario the flags and the file describe (the file's steps and the flags' both run; a
 * shape flag overrides the file's shape). `runMs` bounds a `--churn` given without a range.
 * Exits through `command.error` (status 2) on a ScenarioError naming the flag or file:line.
 */
export async function scenarioOf(
  command: Command,
  options: FaultCommandOptions,
  runMs: number,
): Promise<Scenario> {
  try {
    const flags = scenarioFromFlags(options, runMs);
    if (options.scenario === undefined) return flags;
    const file = await readScenario(options.scenario);
    const shapeGiven =
      options.latency !== undefined ||
      options.loss !== undefined ||
      options.bandwidth !== undefined;
    return mergeScenarios(file, hasFaultFlags(options) ? flags : EMPTY_SCENARIO, shapeGiven);
  } catch (error) {
    if (error instanceof ScenarioError) command.error(`error: ${error.message}`, { exitCode: 2 });
    throw error;
  }
}
