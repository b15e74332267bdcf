import { build, type Histogram } from 'hdr-histogram-js';

/**
 * Durations in milliseconds, kept in an HDR histogram at 1 µs and 3 significant digits: memory
 * bounded whatever the count, percentiles without sorting. The histogram is built on the first
 * record, so an unused instance costs nothing.
 */
export class Durations {
  #histogram: Histogram | undefined;
  #negative = 0;

  /** Records `ms`; a value below zero (clocks of different processes) is counted, and recorded as 0. */
  record(ms: number): void {
    if (ms < 0) this.#negative++;
    this.#histogram ??= build({ numberOfSignificantValueDigits: 3 });
    this.#histogram.recordValue(Math.max(0, Math.round(ms * 1_000)));
  }

  get count(): number {
    return this.#histogram?.totalCount ?? 0;
  }

  /** Values recorded as 0 because they were below zero. */
  get negative(): number {
    return this.#negative;
  }

  /** The value at percentile `p` (0..100), in milliseconds; 0 when nothing was recorded. */
  percentile(p: number): number {
    return this.#histogram === undefined ? 0 : this.#histogram.getValueAtPercentile(p) / 1_000;
  }

  /** 0 when nothing was recorded. */
  get mean(): number {
    return this.#histogram === undefined ? 0 : this.#histogram.mean / 1_000;
  }

  /** 0 when nothing was recorded. */
  get max(): number {
    return this.#histogram === undefined ? 0 : this.#histogram.maxValue / 1_000;
  }
}
