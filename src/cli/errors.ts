import type { CommanderError } from 'commander';

/** Exit status of a command line that cannot be used (bad value, unknown option), as clap's. */
export const USAGE_EXIT_STATUS = 2;

const INVALID_OPTION_VALUE =
  /^error: option '(?:-[^-,\s]+, )?([^']+)' argument '([\s\S]*)' is invalid\. ([\s\S]*?)\n?$/;

/**
 * Commander's error line for a rejected option value, reworded as the original's:
 * `error: Invalid value 'abc' for '--port <PORT>': 'abc' is not a port number`. Other errors
 * (unknown option, missing value) keep commander's words.
 */
export function originalErrorText(message: string): string {
  const match = INVALID_OPTION_VALUE.exec(message);
  if (match === null) return message;
  const [, flag, value, reason] = match;
  return `error: Invalid value '${value}' for '${flag}': ${reason}\n`;
}

/** The exit status for an error commander threw (help and version throw too, with status 0). */
export function exitStatusOf(error: CommanderError): number {
  return error.exitCode === 0 ? 0 : USAGE_EXIT_STATUS;
}
