import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { close, listen, runCli, startPeerCli } from './support/cli.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

test('--help lists every option with its default, as the original', async () => {
  const { code, stdout } = await runCli(['--help']);
  assert.equal(code, 0);
  const lines = stdout.split('\n');
  assert.equal(lines[0], 'Provides a peer exchange that imples a naive messaging functionality');
  // As clap's: `[COMMAND]` appears once there are subcommands.
  assert.ok(
    lines.some((l) => /^Usage: naive-peer \[OPTIONS\]( \[COMMAND\])?$/.test(l)),
    stdout,
  );
  for (const expected of [
    /^ {2}-P, --period <PERIOD> +Messaging period \[default: 2\]$/,
    /^ {6}--address <ADDRESS> +Public address to be sent as a peer address \[default: 127\.0\.0\.1\]$/,
    /^ {2}-p, --port <PORT> +Port of the current peer to listen to \[default: 8080\]$/,
    /^ {2}-c, --connect <CONNECT> +Address of the peer to connect to initially$/,
    /^ {6}--bind <HOST> +Interface to listen on .*\[default: 0\.0\.0\.0\]$/,
    /^ {6}--json +\S/,
    /^ {2}-h, --help +Print help$/,
    /^ {2}-V, --version +Print version$/,
  ]) {
    assert.ok(
      lines.some((l) => expected.test(l)),
      `no line matches ${expected}:\n${stdout}`,
    );
  }
});

test('--version and -V print the name and the version of package.json', async () => {
  for (const flag of ['--version', '-V']) {
    const { code, stdout } = await runCli([flag]);
    assert.equal(code, 0);
    assert.equal(stdout.trimEnd(), `naive-peer ${VERSION}`);
  }
});

test('a bad flag exits with status 2 and one line naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /^error: Invalid value 'abc' for '--port <PORT>': \S.*$/],
    [['--port', '70000'], /^error: Invalid value '70000' for '--port <PORT>': \S.*$/],
    [['-p', '70000'], /^error: Invalid value '70000' for '--port <PORT>': \S.*$/],
    [['--period', '0'], /^error: Invalid value '0' for '--period <PERIOD>': \S.*$/],
    [['-P', '-1'], /^error: Invalid value '-1' for '--period <PERIOD>': \S.*$/],
    [
      ['--connect', 'nonsense'],
      /^error: Invalid value 'nonsense' for '--connect <CONNECT>': \S.*$/,
    ],
    [
      ['--connect', '1.2.3.4:99999'],
      /^error: Invalid value '1\.2\.3\.4:99999' for '--connect <CONNECT>': \S.*$/,
    ],
    [['--address', 'not an address'], /^error: Invalid value .* for '--address <ADDRESS>': \S.*$/],
    [['--bogus'], /^error: unknown option '--bogus'/],
    [['--port'], /^error: .*--port <PORT>.*missing/],
  ];
  for (const [args, expected] of cases) {
    const { code, stderr, stdout } = await runCli(args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '', args.join(' '));
    const lines = stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${stderr}`);
    assert.match(lines[0] ?? '', expected);
  }
});

test('prints its address as the original: # 00:00:00 - My address is: 0.0.0.0:PORT', async (t) => {
  const { cli, port } = await startPeerCli(t);
  assert.match(
    cli.stderr[0] ?? '',
    new RegExp(`^# 00:00:00 - My address is: 0\\.0\\.0\\.0:${port}$`),
  );
  assert.deepEqual(cli.stdout, []);
});

test('two CLI peers connect, gossip, and see each other leave', async (t) => {
  const a = await startPeerCli(t, ['-P', '0.2']);
  const b = await startPeerCli(t, ['-P', '0.2', '-c', `127.0.0.1:${a.port}`]);
  const line = (text: string) => new RegExp(`^# \\d{2}:\\d{2}:\\d{2} - ${text}$`);
  await b.cli.line('stderr', line(`Connected to the peer at: 127\\.0\\.0\\.1:${a.port}`));
  await a.cli.line('stderr', line(`Connected to the peer at: 127\\.0\\.0\\.1:${b.port}`));
  const received = (from: number) =>
    line(`Received message \\[[A-Za-z0-9]{10}\\] from: 127\\.0\\.0\\.1:${from}`);
  await a.cli.line('stderr', received(b.port));
  await b.cli.line('stderr', received(a.port));

  b.cli.kill('SIGTERM');
  assert.deepEqual(await b.cli.exited, { code: 0, signal: null });
  await a.cli.line(
    'stderr',
    line(`Disconnected from the peer at: 127\\.0\\.0\\.1:${b.port} \\(.+\\)`),
  );
  assert.ok(
    a.cli.stderr.every((l) => l.startsWith('# ')),
    a.cli.stderr.join('\n'),
  );
});

test('a port in use: one clear line and exit status 1', async (t) => {
  const server = await listen(0);
  t.after(() => close(server));
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const { code, stderr } = await runCli(['-p', String(address.port)]);
  assert.equal(code, 1);
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] ?? '', new RegExp(`^error: .*port ${address.port} .*in use`));
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops the peer and exits with status 0`, async (t) => {
    const { cli } = await startPeerCli(t);
    cli.kill(signal);
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });
}

test('--json prints one parseable JSON object per event on stdout', async (t) => {
  const a = await startPeerCli(t, ['--json', '-P', '0.2']);
  const b = await startPeerCli(t, ['-P', '0.2', '-c', `127.0.0.1:${a.port}`]);
  await a.cli.line('stdout', /"type":"message-received"/);
  const events = a.cli.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
  const [first] = events;
  assert.equal(first?.type, 'listening');
  assert.equal(first?.bound, `0.0.0.0:${a.port}`);
  assert.equal(first?.advertised, `127.0.0.1:${a.port}`);
  for (const event of events) {
    assert.equal(typeof event.type, 'string');
    assert.equal(typeof event.at, 'number');
    assert.equal(typeof event.elapsedMs, 'number');
  }
  assert.ok(
    events.some((e) => e.type === 'connected' && e.peer === `127.0.0.1:${b.port}`),
    a.cli.stdout.join('\n'),
  );
  // The console lines still go to stderr.
  assert.match(a.cli.stderr[0] ?? '', new RegExp(`My address is: 0\\.0\\.0\\.0:${a.port}$`));
});
