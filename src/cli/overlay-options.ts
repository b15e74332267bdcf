import { type Command, InvalidArgumentError, Option } from 'commander';
import type { OverlaySettings } from '../peer/overlay-protocol.js';
import { integerOption } from './parsers.js';

/** The overlay flags, as commander parses them. */
export interface OverlayFlags {
  readonly overlay: 'full' | 'hyparview';
  readonly activeView?: number;
  readonly passiveView?: number;
}

/** View sizes beyond these are no partial overlay any more (and would defeat the file budget). */
const MAX_ACTIVE_VIEW = 64;
const MAX_PASSIVE_VIEW = 1_024;

/** Adds `--overlay full|hyparview`, `--active-view`, `--passive-view` to a command. */
export function addOverlayOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--overlay <KIND>',
        'full: a link to every peer (the original); hyparview: a few links each (HyParView + Plumtree)',
      )
        .choices(['full', 'hyparview'])
        .default('full'),
    )
    .option('--active-view <N>', 'Open links each overlay peer keeps [default: 5]', (text) =>
      integerOption(text, 1, MAX_ACTIVE_VIEW),
    )
    .option('--passive-view <N>', 'Known addresses each overlay peer keeps [default: 30]', (text) =>
      integerOption(text, 0, MAX_PASSIVE_VIEW),
    );
}

/** The overlay to run, or undefined for the full mesh. */
export function overlaySettingsOf(flags: OverlayFlags): OverlaySettings | undefined {
  if (flags.overlay === 'full') return undefined;
  return {
    kind: flags.overlay,
    ...(flags.activeView === undefined ? {} : { activeView: flags.activeView }),
    ...(flags.passiveView === undefined ? {} : { passiveView: flags.passiveView }),
  };
}

/** Messages a second, > 0, possibly fractional. */
export function rateOption(text: string): number {
  const rate = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) {
    throw new InvalidArgumentError(`'${text}' is not a number of messages a second > 0`);
  }
  return rate;
}
