// Run as its own process (so NODE_EXTRA_CA_CERTS applies, as it would to a deployed relayguard): checks the
// RedisWindowStore at the URL given as the first argument as startup does (on the Redis Cluster whose seed nodes,
// host:port,..., are the optional second argument), saves and loads one window, and prints the outcome as one
// JSON line. Exit 0 when the round trip worked, 1 when the store was unavailable within the timeout.
import { emptyWindow } from '../../../services/core/windows.js';
import { RedisWindowStore } from '../../../services/platform/redis/redis-window-store.js';

const [url, nodes] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: redis-store-probe <redis url> [<cluster host:port,...>]\n');
  process.exit(2);
}
const clusterNodes = nodes?.split(',').map((node) => {
  const [host = '', port = ''] = node.split(':');
  return { host, port: Number(port) };
});
const store = new RedisWindowStore({ url, ttlMs: 60_000, ...(clusterNodes ? { clusterNodes } : {}) });
// ioredis logs connection errors through 'error' events and reconnects: the probe only wants the outcome.
(store.client as unknown as NodeJS.EventEmitter).on('error', () => {});
try {
  await store.verify();
  const next = emptyWindow();
  next.streamMinute = 29_000_000;
  next.buckets.set(29_000_000, { unregistered: 3, forwarded: 1, total: 7 });
  next.watermark = { partition: 0, offset: '41' };
  const { conflicts } = await store.save([{ tenantId: 'probe', expectedVersion: null, window: next }]);
  const loaded = (await store.load(['probe'])).get('probe');
  process.stdout.write(
    `${JSON.stringify({ ok: true, conflicts, total: loaded?.window.buckets.get(29_000_000)?.total })}\n`,
  );
  process.exitCode = 0;
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (error as Error).message })}\n`);
  process.exitCode = 1;
} finally {
  store.client.disconnect();
}
