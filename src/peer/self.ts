import { networkInterfaces } from 'node:os';
import type { HostPort } from '../protocol/address.js';

const WILDCARDS = new Set(['0.0.0.0', '::', 'localhost']);

function isLoopback(host: string): boolean {
  // Hosts reach here in canonical form, where ::ffff:127.0.0.1 is spelled ::ffff:7f00:1.
  return host.startsWith('127.') || host === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(host);
}

/**
 * Whether `host:port` names this peer without asking the network: our port on a loopback,
 * wildcard or local interface address, or on the host we advertise. Names that resolve to us in
 * other ways are caught when the dial reaches a node with our own id.
 */
export function isSelfAddress(
  { host, port }: HostPort,
  ownPort: number,
  advertisedHost: string,
): boolean {
  if (port !== ownPort) return false;
  if (host === advertisedHost || WILDCARDS.has(host) || isLoopback(host)) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === host));
}
