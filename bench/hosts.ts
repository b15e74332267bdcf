import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  chainBootstrap,
  findFreePortRange,
  LOOPBACK,
  peerPorts,
} from '../src/emulator/bootstrap.js';
import { MeshState } from '../src/emulator/mesh.js';
import { now } from '../src/peer/clock.js';
import type { PeerEvent } from '../src/peer/events.js';
import { LocalMesh } from './local-mesh.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The CLI entry, run through tsx like `npm start`. */
const CLI = join(here, '..', 'src', 'cli', 'main.ts');

/** The phases of bringing up a hosted mesh, in milliseconds from its launch. */
export interface HostTimings {
  /** Launch to the first peer listening: what the host costs before any peer runs. */
  readonly firstListeningMs: number;
  /** Launch to the last peer listening. */
  readonly allListeningMs: number;
  /** Last peer listening to full mesh: the target's "after all peers listen". */
  readonly meshMs: number;
  /** Launch to full mesh. */
  readonly totalMs: number;
}

/** CPU time and resident memory of every OS process that hosts the peers. */
export interface HostUsage {
  readonly cpuMs: number;
  readonly rssBytes: number;
}

/** A running full mesh, whichever way its peers are hosted. */
export interface HostedMesh {
  readonly size: number;
  readonly timings: HostTimings;
  /** Every event of every peer. */
  subscribe(listener: (event: PeerEvent) => void): () => void;
  usage(): HostUsage;
  stop(): Promise<void>;
}

export interface MeshOptions {
  readonly periodMs: number;
  readonly timeoutMs: number;
}

/** N peers on the calling thread. */
export async function startThreadMesh(size: number, options: MeshOptions): Promise<HostedMesh> {
  const { mesh, timings } = await LocalMesh.start(size, options);
  return {
    size,
    timings: {
      firstListeningMs: 0,
      allListeningMs: timings.startMs,
      meshMs: timings.meshMs,
      totalMs: timings.totalMs,
    },
    subscribe: (listener) => mesh.subscribe((_, event) => listener(event)),
    usage: () => {
      const cpu = process.cpuUsage();
      return { cpuMs: (cpu.user + cpu.system) / 1_000, rssBytes: process.memoryUsage.rss() };
    },
    stop: () => mesh.stop(),
  };
}

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on every Linux Node supports

/** CPU and RSS of one process from /proc (Linux); zeros elsewhere or once it has exited. */
function procUsage(pid: number): HostUsage {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { cpuMs: ticks * CLOCK_TICK_MS, rssBytes: rssKb * 1_024 };
  } catch {
    return { cpuMs: 0, rssBytes: 0 };
  }
}

/**
 * One OS process per peer, each the real CLI (`--bind 127.0.0.1 --json`, its console lines and
 * JSON events) started with tsx. Ports are probed up front and every process is spawned at once,
 * each joining through the one before it, as a person would start them from a script.
 */
export async function startProcessMesh(size: number, options: MeshOptions): Promise<HostedMesh> {
  const base = await findFreePortRange(size);
  const address = (i: number): string => `${LOOPBACK}:${base + i}`;
  const listeners = new Set<(event: PeerEvent) => void>();
  const ports = peerPorts(base, size);
  const joins = chainBootstrap(ports);
  const state = new MeshState(ports.map((_, i) => address(i)));
  const children: ChildProcess[] = [];
  const exited: Array<Promise<void>> = [];
  let firstListening = Number.POSITIVE_INFINITY;
  let lastListening = 0;
  let listening = 0;
  let fullAt = 0;
  let onFull: () => void = () => {};
  let onFailure: (error: Error) => void = () => {};

  const launchedAt = now();
  for (let i = 0; i < size; i++) {
    const join = joins[i];
    // The real CLI, one process per peer, listening on loopback only.
    const args = [
      '--import',
      'tsx',
      CLI,
      '--bind',
      '127.0.0.1',
      '-p',
      String(base + i),
      '-P',
      String(options.periodMs / 1_000),
      '--json',
      ...(join === undefined ? [] : ['-c', join]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    exited.push(
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      }),
    );
    child.once('exit', (code, signal) => {
      if (fullAt === 0) onFailure(new Error(`peer process ${i} exited early (${code ?? signal})`));
    });
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      let event: PeerEvent;
      try {
        event = JSON.parse(line) as PeerEvent;
      } catch {
        return;
      }
      if (event.type === 'listening') {
        listening++;
        firstListening = Math.min(firstListening, event.at);
        lastListening = Math.max(lastListening, event.at);
      }
      state.apply(i, event);
      if (fullAt === 0 && listening === size && state.complete) {
        fullAt = event.at;
        onFull();
      }
      for (const listener of listeners) listener(event);
    });
  }

  const stop = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    }, 10_000);
    await Promise.all(exited);
    clearTimeout(killer);
    listeners.clear();
  };

  try {
    if (fullAt === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no full mesh of ${size} processes in ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
        onFull = () => {
          clearTimeout(timer);
          resolve();
        };
        onFailure = (error) => {
          clearTimeout(timer);
          reject(error);
        };
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    size,
    timings: {
      firstListeningMs: firstListening - launchedAt,
      allListeningMs: lastListening - launchedAt,
      meshMs: Math.max(0, fullAt - lastListening),
      totalMs: fullAt - launchedAt,
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    usage: () => {
      let cpuMs = 0;
      let rssBytes = 0;
      for (const child of children) {
        if (child.pid === undefined) continue;
        const u = procUsage(child.pid);
        cpuMs += u.cpuMs;
        rssBytes += u.rssBytes;
      }
      return { cpuMs, rssBytes };
    },
    stop,
  };
}
