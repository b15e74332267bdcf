import type { Rng } from '../core/rng.js';

/** The running peers, for drawing one at random in O(1) (swap-remove keeps the list dense). */
export class RunningSet {
  readonly #list: number[] = [];
  readonly #position = new Map<number, number>();

  add(i: number): void {
    if (this.#position.has(i)) return;
    this.#position.set(i, this.#list.length);
    this.#list.push(i);
  }

  delete(i: number): void {
    const at = this.#position.get(i);
    if (at === undefined) return;
    const last = this.#list.pop() as number;
    this.#position.delete(i);
    if (last !== i) {
      this.#list[at] = last;
      this.#position.set(last, at);
    }
  }

  /** The first running peer in the list that fits (the bootstrap while it runs), or null. */
  first(fits: (i: number) => boolean): number | null {
    return this.#list.find(fits) ?? null;
  }

  /** A random running peer that fits (found by trying), or null. */
  pick(rng: Rng, fits: (i: number) => boolean = () => true): number | null {
    const list = this.#list;
    if (list.length === 0) return null;
    for (let tries = 0; tries < 64; tries++) {
      const i = list[rng.int(list.length)] as number;
      if (fits(i)) return i;
    }
    return list.find(fits) ?? null;
  }
}
