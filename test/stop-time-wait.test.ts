import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canReadTcpTable, readTcpTable } from '../src/emulator/sockets.js';
import { startChain, stopAll } from './support/network.js';
import { isFullMesh, until } from './support/wait.js';

/**
 * Peers that stop together leave no socket in TIME-WAIT on the local ports of the connections
 * they dialed, as the kernel's table shows: the accepting end closes first, so the TIME-WAIT sits
 * on its listening port, which it can bind again. Those local ports come from the kernel's range
 * for outgoing connections, where a peer started next may want to listen (the emulator's
 * `--base-port` there once failed back to back: "port P is already in use").
 */
test('peers stopping together leave their dialed ports free of TIME-WAIT', async (t) => {
  if (!canReadTcpTable()) return t.skip('no /proc/net/tcp here');
  const { peers, base } = await startChain(t, 6);
  await until(peers, () => isFullMesh(peers), 'six peers meshed');
  const own = (port: number) => port >= base && port < base + peers.length;
  // The dialing ends of the mesh's connections: a local port that is none of the listeners'.
  const dialed = new Set(
    readTcpTable()
      .filter((e) => e.state === 'ESTABLISHED' && own(e.remotePort) && !own(e.localPort))
      .map((e) => e.localPort),
  );
  assert.ok(dialed.size >= 15, `${dialed.size} dialed connections`);
  await stopAll(peers);
  const lingering = readTcpTable().filter(
    (e) => e.state === 'TIME_WAIT' && dialed.has(e.localPort) && own(e.remotePort),
  );
  assert.deepEqual(
    lingering.map((e) => `${e.localPort}>${e.remotePort}`),
    [],
    'TIME-WAIT on the ports of dialed connections',
  );
});
