import { AsyncLocalStorage } from 'node:async_hooks';
import { SocketBytes } from './socket-bytes.js';

/**
 * Byte counts for the peers one worker thread hosts: a peer's sockets are told apart by the async
 * context they were opened in (each peer runs inside its own `AsyncLocalStorage` store, which its
 * servers, timers and sockets carry on), and each peer's counts are handed to its `report`
 * callback every REPORT_MS (and once more when it leaves).
 */

/** Byte counters are scraped every few seconds at most: once a second is plenty. */
export const BYTES_REPORT_MS = 1_000;

type Report = (bytesIn: number, bytesOut: number) => void;

const owner = new AsyncLocalStorage<string>();
const reports = new Map<string, Report>();
let meter: SocketBytes | undefined;
let timer: NodeJS.Timeout | undefined;
let ids = 0;

function flush(): void {
  for (const [name, { bytesIn, bytesOut }] of meter?.take() ?? [])
    reports.get(name)?.(bytesIn, bytesOut);
}

export interface MeteredPeer {
  /** Runs `fn` as this peer: sockets it opens, now or later from what it starts, are counted. */
  run<T>(fn: () => T): T;
  /** Reports the last bytes and stops counting this peer. */
  leave(): void;
}

export function meterPeer(report: Report): MeteredPeer {
  const name = String(++ids);
  reports.set(name, report);
  if (meter === undefined) {
    meter = new SocketBytes(() => owner.getStore());
    timer = setInterval(flush, BYTES_REPORT_MS);
    timer.unref();
  }
  return {
    run: (fn) => owner.run(name, fn),
    leave: () => {
      flush();
      reports.delete(name);
      if (reports.size > 0) return;
      clearInterval(timer);
      meter?.stop();
      meter = undefined;
    },
  };
}
