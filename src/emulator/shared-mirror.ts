/**
 * The emulator's shared memory (faults.ts's NetworkMap: who owns each port, each peer's partition
 * group, read and written by every peer's shaping) kept alike across the processes of a
 * ProcessPool, which share no memory: each process holds its own copy, and what changes in one is
 * sent, as (index, value) pairs, to the others through the parent.
 *
 * Changes are found by comparing each array with what the other processes were last told (80 us
 * for the 65,536 ports, measured), every MIRROR_MS and before every message the parent sends a
 * child: a heal, then the `reshape` that re-pumps held frames, reach a child in that order. A port
 * a peer registers reaches the other processes within about two periods; until then a connection
 * it dialed is unknown to an acceptor elsewhere, whose frames on it are not held by a partition
 * (seen only within those milliseconds of a connection's start).
 */

/** How often each process looks for changes of its copies. */
export const MIRROR_MS = 20;

/** Changes of one mirrored array: `length` Int32 entries, `changes` as index, value, index, ... */
export interface MirrorChanges {
  readonly id: number;
  readonly length: number;
  readonly changes: readonly number[];
}

/** A mirrored array as a message names it. */
export interface MirrorRef {
  readonly id: number;
  readonly length: number;
}

interface Mirrored {
  readonly buffer: SharedArrayBuffer;
  readonly view: Int32Array;
  /** What the other processes were told (or told us) last. */
  readonly told: Int32Array;
}

export class SharedMirror {
  readonly #arrays = new Map<number, Mirrored>();
  readonly #ids = new Map<SharedArrayBuffer, number>();

  /** The parent's side: how `buffer` is named to the children (mirrored from now on). */
  refOf(buffer: SharedArrayBuffer): MirrorRef {
    let id = this.#ids.get(buffer);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(buffer, id);
      const view = new Int32Array(buffer);
      this.#arrays.set(id, { buffer, view, told: new Int32Array(view.length) });
    }
    return { id, length: buffer.byteLength / Int32Array.BYTES_PER_ELEMENT };
  }

  /** A child's side: its copy of the array `ref` names (zeros until changes arrive). */
  bufferOf({ id, length }: MirrorRef): SharedArrayBuffer {
    let mirrored = this.#arrays.get(id);
    if (mirrored === undefined) {
      const buffer = new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT);
      mirrored = { buffer, view: new Int32Array(buffer), told: new Int32Array(length) };
      this.#arrays.set(id, mirrored);
    }
    return mirrored.buffer;
  }

  get active(): boolean {
    return this.#arrays.size > 0;
  }

  /** What changed here since the last call, now counted as told. */
  take(): MirrorChanges[] {
    const all: MirrorChanges[] = [];
    for (const [id, { view, told }] of this.#arrays) {
      const changes: number[] = [];
      // Plain reads: an aligned Int32 does not tear, and Atomics.load took ten times longer.
      for (let i = 0; i < view.length; i++) {
        const value = view[i] as number;
        if (value !== told[i]) {
          changes.push(i, value);
          told[i] = value;
        }
      }
      if (changes.length > 0) all.push({ id, length: view.length, changes });
    }
    return all;
  }

  /**
   * Applies another process's changes. `echo`: leave them untold here, so that the next `take`
   * passes them on (the parent, relaying one child's changes to the others).
   */
  apply(all: readonly MirrorChanges[], echo: boolean): void {
    for (const { id, length, changes } of all) {
      this.bufferOf({ id, length });
      const { view, told } = this.#arrays.get(id) as Mirrored;
      for (let k = 0; k + 1 < changes.length; k += 2) {
        const index = changes[k] as number;
        const value = changes[k + 1] as number;
        Atomics.store(view, index, value);
        if (!echo) told[index] = value;
      }
    }
  }
}
