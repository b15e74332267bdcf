import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Rng } from '../core/rng.js';
import type { PeerOptions } from '../peer/peer.js';
import { formatHostPort } from '../protocol/address.js';

/** Emulated peers listen and advertise on loopback only. */
export const LOOPBACK = '127.0.0.1';

const MAX_PORT = 65_535;

/** The ports of `count` peers from `base` on, one each. */
export function peerPorts(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Why `count` ports from `base` cannot be used, or null. */
export function portRangeProblem(base: number, count: number): string | null {
  if (base < 1 || base + count - 1 > MAX_PORT) {
    return `${count} peers from port ${base} need ports ${base}-${base + count - 1}, past ${MAX_PORT}`;
  }
  return null;
}

/**
 * The options of each peer: listen on its port and advertise loopback. Where it joins comes
 * later (`chainBootstrap`), once every peer listens, so the mesh can only form through the peers'
 * own discovery and no join waits out a retry because its predecessor was not up yet.
 */
export function chainOptions(ports: readonly number[], common: PeerOptions = {}): PeerOptions[] {
  return ports.map((port) => ({ ...common, port, bindHost: LOOPBACK, advertisedHost: LOOPBACK }));
}

/** The chain: peer i joins through peer i-1 (the first peer joins through nobody). */
export function chainBootstrap(ports: readonly number[]): Array<string | undefined> {
  return ports.map((_, i) => {
    const previous = ports[i - 1];
    return previous === undefined ? undefined : formatHostPort({ host: LOOPBACK, port: previous });
  });
}

/**
 * The overlay's bootstrap: peer i joins through a peer before it, drawn with `rng` (a random
 * recursive tree, so the joins alone connect everyone). Through a chain, joins sent at one
 * instant meet contacts with no other neighbour yet and the overlay starts as a path of degree 2;
 * through one contact, 2,000 joins at once evict each other from its active view for seconds.
 */
export function randomBootstrap(ports: readonly number[], rng: Rng): Array<string | undefined> {
  return ports.map((_, i) => {
    const contact = i === 0 ? undefined : ports[rng.int(i)];
    return contact === undefined ? undefined : formatHostPort({ host: LOOPBACK, port: contact });
  });
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The kernel's range of ports for outgoing connections (Linux), or the usual one. */
export function ephemeralPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return [49_152, MAX_PORT];
}

/**
 * The first port of `count` consecutive ports free on `host`, each probed. Searched outside the
 * ephemeral range when it fits, since a full mesh opens thousands of outgoing connections whose
 * local ports would otherwise collide with peers still to listen.
 */
export async function findFreePortRange(count: number, host = LOOPBACK): Promise<number> {
  const [ephemeralLow, ephemeralHigh] = ephemeralPortRange();
  const regions: Array<readonly [number, number]> = [
    [10_000, ephemeralLow - 1],
    [ephemeralHigh + 1, MAX_PORT],
    [1_024, MAX_PORT],
  ];
  const region = regions.find(([low, high]) => high - low + 1 >= count * 2);
  if (region === undefined) throw new Error(`no room for ${count} consecutive ports`);
  const [low, high] = region;
  for (let tries = 0; tries < 50; tries++) {
    const base = low + Math.floor(Math.random() * (high - low + 2 - count));
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await canBind(port, host);
    if (free) return base;
  }
  throw new Error(`found no ${count} consecutive free ports on ${host}`);
}
