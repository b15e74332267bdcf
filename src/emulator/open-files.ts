import { readdirSync, statSync } from 'node:fs';

/**
 * The most files each process hosting peers held open at once, sampled from outside: a full mesh
 * lives close to the open-file limit of each process while it forms, and this is the figure
 * that says how close.
 */

/**
 * How often the processes are sampled. A sample is a `stat` of /proc/PID/fd (Linux 6.2 and later
 * give the count as its size: 0.04 ms at 15,000 files, measured); listing the folder, where the
 * size is not given, took 19 ms at 15,000 files.
 */
const SAMPLE_MS = 250;

/** Files process `pid` holds open now, or null where /proc cannot tell. */
export function openFilesOf(pid: number): number | null {
  try {
    const size = statSync(`/proc/${pid}/fd`).size;
    return size > 0 ? size : readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export class OpenFilesPeak {
  readonly #pids: () => readonly number[];
  readonly #peaks = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;

  /** Samples the processes `pids()` names now and every SAMPLE_MS until `stop()`. */
  constructor(pids: () => readonly number[]) {
    this.#pids = pids;
    this.sample();
    this.#timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  sample(): void {
    for (const pid of this.#pids()) {
      const files = openFilesOf(pid);
      if (files !== null) this.#peaks.set(pid, Math.max(this.#peaks.get(pid) ?? 0, files));
    }
  }

  /** Each process's peak so far, in the order first seen; empty where /proc cannot be read. */
  peaks(): number[] {
    return [...this.#peaks.values()];
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
