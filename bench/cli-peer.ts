import { runPeerProcess } from '../src/host/peer-process.js';

/**
 * One peer for the process-per-peer benchmark: the CLI's own peer host (console lines on stderr,
 * --json events on stdout, stop on SIGTERM) with the listener bound to 127.0.0.1, which the CLI
 * cannot do yet. Arguments: PORT PERIOD_MS [CONNECT].
 */
const [port, periodMs, connect] = process.argv.slice(2);
process.exitCode = await runPeerProcess({
  json: true,
  peer: {
    port: Number(port),
    bindHost: '127.0.0.1',
    advertisedHost: '127.0.0.1',
    periodMs: Number(periodMs),
    ...(connect === undefined ? {} : { connect }),
  },
});
