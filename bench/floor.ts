import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK } from '../src/emulator/bootstrap.js';
import type { EmulationOptions } from '../src/emulator/emulate.js';
import { formatHostPort } from '../src/protocol/address.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Peer i joins every peer before it: each pair gets one connection, dialed by the later peer. */
export function everyEarlierPeer(ports: readonly number[]): string[][] {
  return ports.map((_, i) =>
    ports.slice(0, i).map((port) => formatHostPort({ host: LOOPBACK, port })),
  );
}

/**
 * The emulator's `host` for the floor of a full mesh: `floor-worker.ts` in place of a peer, every
 * pair dialed once. `runEmulation({ peers, host: FLOOR_HOST })` then times N(N-1)/2 loopback
 * connections (connect, accept, one small frame each way) on the same pool, threads, ports and
 * mesh check as a mesh of peers.
 */
export const FLOOR_HOST: NonNullable<EmulationOptions['host']> = {
  filename: join(here, 'floor-worker.ts'),
  joins: everyEarlierPeer,
};
