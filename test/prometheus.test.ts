import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type Cli, freePort, startPeerCli } from './support/cli.js';

/** Debian's `prometheus` package brings both; `.ci/run` installs it. */
const HAVE_PROMETHEUS =
  spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
const SKIP = HAVE_PROMETHEUS
  ? false
  : 'prometheus is not installed (apt-get install -y prometheus)';

/** Prometheus needs a few seconds to start and scrape every target twice; CI is slow. */
const PROMETHEUS_WAIT_MS = 60_000;
/** Between two queries of Prometheus's HTTP API: it changes at most once a scrape (1 s). */
const POLL_MS = 250;

async function metricsUrl(cli: Cli): Promise<string> {
  const line = await cli.line('stderr', /^metrics: http:\/\/\S+\/metrics$/);
  return line.slice('metrics: '.length);
}

interface QueryResult {
  readonly status: string;
  readonly data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

test('a real Prometheus scrapes three peers and reads naive_peer_links = 2 for each; promtool accepts the output', {
  skip: SKIP,
}, async (t) => {
  const a = await startPeerCli(t, ['-P', '0.5', '--metrics', '0']);
  const b = await startPeerCli(t, ['-P', '0.5', '--metrics', '0', '-c', `127.0.0.1:${a.port}`]);
  const c = await startPeerCli(t, ['-P', '0.5', '--metrics', '0', '-c', `127.0.0.1:${a.port}`]);
  const urls = await Promise.all([a, b, c].map(({ cli }) => metricsUrl(cli)));
  const targets = urls.map((u) => new URL(u).host);

  const dir = mkdtempSync(join(tmpdir(), 'naive-peer-prometheus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: naive-peer',
      `    static_configs: [{ targets: ${JSON.stringify(targets)} }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) => prometheus.once('close', () => resolve()));
  t.after(async () => {
    prometheus.kill('SIGTERM');
    await exited;
  });

  const api = `http://127.0.0.1:${port}/api/v1/query?query=naive_peer_links`;
  const deadline = Date.now() + PROMETHEUS_WAIT_MS;
  let last = 'no answer yet';
  for (;;) {
    if (prometheus.exitCode !== null) assert.fail(`prometheus exited:\n${log}`);
    try {
      const answer = (await (await fetch(api)).json()) as QueryResult;
      const series = answer.data?.result ?? [];
      last = JSON.stringify(series);
      const byTarget = new Map(series.map((s) => [s.metric.instance, s.value[1]]));
      if (targets.every((target) => byTarget.get(target) === '2')) break;
    } catch (error) {
      last = String(error); // not listening yet
    }
    if (Date.now() > deadline) {
      assert.fail(`naive_peer_links never read 2 for ${targets.join(', ')}; last: ${last}`);
    }
    await delay(POLL_MS);
  }

  for (const url of urls) {
    const text = await (await fetch(url)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(
      check.status,
      0,
      `promtool check metrics on ${url}:\n${check.stdout}${check.stderr}`,
    );
    assert.match(text, /^naive_peer_messages_received_total [1-9]/m);
    assert.match(text, /^naive_peer_bytes_sent_total [1-9]/m);
  }
});
