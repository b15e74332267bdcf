import { type MessagePort, threadId } from 'node:worker_threads';
import { trafficCounts } from '../metrics/traffic.js';
import type { LinkShape } from '../scenario/model.js';
import type { HostCommand, HostMessage } from './messages.js';

/** What a hosted task does with the commands that concern it. */
export interface CommandHandlers {
  join(address: string): void;
  breakLink(peer: string): void;
  /** Stop sending gossip; a task that sends none periodically leaves it out. */
  pauseGossip?(): void;
  /** Gossip one message now (the emulator's --rate). */
  broadcast?(): void;
  /** Report the peer's totals as a `counters` event (overlay peers). */
  counters?(): void;
  /** The stop that follows is a crash: no goodbyes. */
  kill?(): void;
  /** A new link shape, or a healed partition (`undefined`: re-read the network). */
  reshape?(shape: LinkShape | null | undefined): void;
}

/**
 * Serves the commands arriving on a hosted task's port: `join`, `break-link`, `pause-gossip`,
 * `broadcast`, `counters`, `kill` and `reshape` go to `on`, `report` is answered with this thread's socket counts. Resolves once `stop` arrives, or once
 * the host went away without a word (stop rather than run forever).
 */
export function serveCommands(
  port: MessagePort,
  on: CommandHandlers,
  /** Where the `report` reply goes: the way the task's events go, so it comes after them. */
  reply: (message: HostMessage) => void = (message) => port.postMessage(message),
): Promise<void> {
  return new Promise((resolve) => {
    port.on('message', (command: HostCommand) => {
      switch (command.type) {
        case 'stop':
          resolve();
          return;
        case 'join':
          on.join(command.address);
          return;
        case 'break-link':
          on.breakLink(command.peer);
          return;
        case 'pause-gossip':
          on.pauseGossip?.();
          return;
        case 'broadcast':
          on.broadcast?.();
          return;
        case 'counters':
          on.counters?.();
          return;
        case 'kill':
          on.kill?.();
          resolve();
          return;
        case 'reshape':
          on.reshape?.(command.shape);
          return;
        case 'report':
          reply({ type: 'report', pid: process.pid, threadId, traffic: trafficCounts() });
          return;
      }
    });
    port.once('close', () => resolve());
  });
}
