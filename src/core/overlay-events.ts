import type { NodeRef } from './machine.js';

/** What the overlay core tells its driver, in one typed stream. */
export type OverlayEvent =
  /** `peer` entered the active view: the link to it is part of the overlay now. */
  | { readonly type: 'neighbor-up'; readonly peer: NodeRef }
  /** `peer` left the active view (`reason` says why, for logs). */
  | { readonly type: 'neighbor-down'; readonly peer: NodeRef; readonly reason: string }
  /**
   * A broadcast message reached this peer for the first time. `hops` is the number of links it
   * crossed (1 for a neighbor of the origin); `from` is the neighbor that delivered it.
   */
  | {
      readonly type: 'delivered';
      readonly id: string;
      readonly payload: string;
      readonly hops: number;
      readonly from: NodeRef;
    };
