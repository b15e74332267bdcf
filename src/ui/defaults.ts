/** The live view's and emulator metrics' defaults, apart from their servers: the CLI reads these
 * at start, and loads the servers (ws, prom-client) only when `--ui` or `--metrics` asks. */

/** Loopback unless asked: the page can stop peers. */
export const DEFAULT_UI_HOST = '127.0.0.1';

/**
 * Per-peer series multiply every metric by N: above this many peers `--metrics-per-peer` is
 * refused (2,000 peers, the live view's size, is about 30,000 series a scrape).
 */
export const MAX_LABELLED_PEERS = 2_000;
