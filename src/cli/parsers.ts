import { InvalidArgumentError } from 'commander';
import { type HostPort, parseHost, parseHostPort, parsePort } from '../protocol/address.js';

/**
 * Option-value parsers shared by every command. Each returns the parsed value or throws commander's
 * InvalidArgumentError, which the program turns into a one-line error naming the flag, exit 2.
 */

export function portOption(text: string): number {
  const port = parsePort(text);
  if (!port.ok) throw new InvalidArgumentError(port.error);
  return port.value;
}

/** A port where 0 means "let the system pick". */
export function portOrZeroOption(text: string): number {
  const port = parsePort(text, true);
  if (!port.ok) throw new InvalidArgumentError(port.error);
  return port.value;
}

export function hostOption(text: string): string {
  const host = parseHost(text);
  if (!host.ok) throw new InvalidArgumentError(host.error);
  return host.value;
}

export function hostPortOption(text: string): HostPort {
  const address = parseHostPort(text);
  if (!address.ok) throw new InvalidArgumentError(address.error);
  return address.value;
}

/** A number of seconds, > 0 (or >= 0 with `allowZero`), possibly fractional. */
export function secondsOption(text: string, allowZero = false): number {
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !allowZero)) {
    throw new InvalidArgumentError(
      `'${text}' is not a number of seconds ${allowZero ? '>= 0' : '> 0'}`,
    );
  }
  return seconds;
}

/** A whole number within [min, max]. */
export function integerOption(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`'${text}' is not a whole number from ${min} to ${max}`);
  }
  return value;
}
