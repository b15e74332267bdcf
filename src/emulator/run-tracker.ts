import { now } from '../peer/clock.js';
import type { PeerEvent } from '../peer/events.js';
import { ephemeralPortRange } from './bootstrap.js';
import { MessageLog } from './latency.js';
import { MeshState } from './mesh.js';
import type { EmulationOptions, EmulationPhase, EmulationProgress } from './options.js';
import { OverlayEmulation } from './overlay-emulation.js';
import type { PeerOutcome } from './pool.js';
import { OVERLAY_STREAM, type RunPlan } from './run-plan.js';

export type WaitOutcome = 'done' | 'timeout' | 'aborted';

/**
 * Why a free-looking port may not bind: inside the kernel's range for outgoing connections, a
 * recent outgoing connection that used it as its local port holds it in TIME-WAIT for a minute
 * (seen after a test run: 41708 held by a connection to 32244), and a listener cannot bind over that.
 */
function whyInUse(port: number | undefined): string {
  const [low, high] = ephemeralPortRange();
  if (port === undefined || port < low || port > high) return '';
  return ` (it lies in the kernel's range for outgoing connections, ${low}-${high}: a recent outgoing connection may hold it for a minute; choose --base-port below ${low}, or 0)`;
}

/**
 * What the peers' events tell of a run: who listens, failed or is linked, the messages of the
 * window, the phase; and the waits that re-check their condition on every such change.
 */
export class RunTracker {
  readonly mesh: MeshState;
  readonly log = new MessageLog();
  readonly listenedAt: Array<number | undefined>;
  readonly errors: Array<string | undefined>;
  readonly overlay: OverlayEmulation | undefined;
  readonly launchedAt: number;
  /** Peers a fault ended on purpose (the fault hooks' set, once they exist): no failure. */
  leaving: ReadonlySet<number> = new Set();
  /** Peers that listened or failed to: startup is over when all have. */
  accounted = 0;
  meshAt: number | undefined;
  /** Set when stopping begins: link changes after it no longer count. */
  frozen = false;
  private phase: EmulationPhase = 'starting';
  private listening = 0;
  private failures = 0;
  private lastLinkAt = 0;
  private readonly waiters = new Set<() => void>();
  private readonly n: number;
  private readonly ports: readonly number[];

  constructor(
    plan: RunPlan,
    private readonly options: EmulationOptions,
    private readonly onProgress: ((progress: EmulationProgress) => void) | undefined,
  ) {
    const { n, ports } = plan;
    this.n = n;
    this.ports = ports;
    this.mesh = new MeshState(plan.addresses, n);
    this.listenedAt = ports.map(() => undefined);
    this.errors = ports.map(() => undefined);
    this.overlay =
      options.overlay === undefined
        ? undefined
        : new OverlayEmulation(n, options.overlay, plan.seed ^ OVERLAY_STREAM, this.wake);
    this.launchedAt = now();
  }

  /** Re-checks every pending wait. */
  readonly wake = (): void => {
    for (const check of [...this.waiters]) check();
  };

  readonly failed = (): boolean => this.failures > 0;

  /** Peers running now (started, not ended by a fault, not failed). */
  readonly running = (): number[] => this.mesh.live.filter((i) => this.errors[i] === undefined);

  /** Resolves when `check()` holds (re-checked on every event), at `deadline`, or on abort. */
  readonly waitFor = (check: () => boolean, deadline: number): Promise<WaitOutcome> =>
    new Promise((resolve) => {
      const signal = this.options.signal;
      const finish = (outcome: WaitOutcome): void => {
        clearTimeout(timer);
        this.waiters.delete(test);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const test = (): void => {
        if (check()) finish('done');
      };
      const onAbort = (): void => finish('aborted');
      const timer =
        deadline === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(() => finish('timeout'), Math.max(0, deadline - now()));
      this.waiters.add(test);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) finish('aborted');
      else test();
    });

  /** Whether the mesh (or the overlay) formed; notes when it did. */
  formed(): boolean {
    const done =
      this.overlay === undefined ? this.mesh.complete : this.overlay.formed(this.mesh, now());
    if (done) this.meshAt ??= this.lastLinkAt;
    return done;
  }

  enter(next: EmulationPhase): void {
    this.phase = next;
    this.report();
  }

  private report(): void {
    this.onProgress?.({
      phase: this.phase,
      peers: this.n,
      listening: this.listening,
      links: this.mesh.mutualLinks,
      expectedLinks: this.mesh.expectedLinks,
      ...(this.overlay === undefined ? {} : { components: this.overlay.components }),
      messages: this.log.messages,
      deliveries: this.log.deliveries,
      elapsedMs: now() - this.launchedAt,
    });
  }

  private account(i: number): void {
    if (this.listenedAt[i] === undefined && this.errors[i] === undefined) this.accounted++;
  }

  // Every event also goes to `options.observe`, through the fault hooks (which see them all,
  // even a peer's last ones after a fault ended it).
  readonly onEvent = (i: number, event: PeerEvent): void => {
    const { mesh, log, overlay } = this;
    overlay?.onEvent(i, event);
    switch (event.type) {
      case 'listening':
        if (this.listenedAt[i] !== undefined) break; // a restart
        this.account(i);
        this.listenedAt[i] = event.at;
        this.listening++;
        this.report();
        break;
      case 'connected':
      case 'disconnected':
        if (this.frozen) return;
        this.lastLinkAt = Math.max(this.lastLinkAt, event.at);
        if (mesh.apply(i, event)) {
          if (this.meshAt === undefined && mesh.complete) this.meshAt = this.lastLinkAt;
          this.report();
        }
        break;
      case 'stopped':
        if (!this.frozen && mesh.clear(i)) this.report();
        break;
      case 'message-sent':
        // Through an overlay a message is meant for the whole network; in the full mesh,
        // deliveries are expected from the peers that run (the sender may still count links to
        // peers a fault ended: it learns of it only when the link breaks).
        {
          const receivers =
            overlay?.receivers(this.running(), event.text) ??
            Math.min(event.peers, mesh.liveReceivers(i));
          log.onSent(event.text, event.at, receivers);
          this.options.trace?.sent(event.text, event.at, receivers);
        }
        if (this.phase === 'running') this.report();
        break;
      case 'message-received':
        log.onReceived(event.text, event.at);
        this.options.trace?.received(event.text, event.at);
        if (this.phase === 'running') this.report();
        break;
      case 'counters':
        break;
      default:
        return;
    }
    this.wake();
  };

  readonly onEnd = (i: number, outcome: PeerOutcome): void => {
    const port = this.ports[i];
    let error: string | undefined;
    if (outcome.outcome === 'listen-failed') {
      error =
        outcome.code === 'EADDRINUSE'
          ? `port ${port} is already in use${whyInUse(port)}`
          : outcome.message;
    } else if (outcome.outcome === 'crashed') {
      error = `the peer on port ${port} died with its thread: ${outcome.message}`;
    } else if (!this.frozen && !this.leaving.has(i)) {
      error = `the peer on port ${port} stopped on its own`;
    }
    if (error === undefined) return;
    this.account(i);
    this.errors[i] = error;
    this.failures++;
    this.wake();
  };
}
