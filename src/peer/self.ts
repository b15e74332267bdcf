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
  return localAddresses().has(host);
}

/** How long the list of local interface addresses is reused before it is read again. */
const INTERFACES_TTL_MS = 5_000;
let interfaces: { readonly addresses: ReadonlySet<string>; readonly at: number } | undefined;

/**
 * The addresses of this host's interfaces. Reading them costs tens of microseconds, and a peer
 * list naming our port 1,000 times would pay that 1,000 times: it is read at most every 5 s.
 */
function localAddresses(): ReadonlySet<string> {
  const at = performance.now();
  if (interfaces === undefined || at - interfaces.at > INTERFACES_TTL_MS) {
    const addresses = Object.values(networkInterfaces()).flatMap(
      (l) => l?.map((i) => i.address) ?? [],
    );
    interfaces = { addresses: new Set(addresses), at };
  }
  return interfaces.addresses;
}
