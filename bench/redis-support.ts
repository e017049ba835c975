// Redis figures the benchmarks read: round trips a client made, and the server's CPU and memory counters.
import type { Redis } from 'ioredis';

/**
 * Counts the writes a client makes to its socket. ioredis writes a pipeline (or a MULTI) in one write and a
 * plain command in one write, and every caller here awaits the reply before writing again: each write is one
 * round trip.
 */
export function countRoundTrips(client: Redis): { count(): number } {
  const socket = client.stream;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let writes = 0;
  (socket as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    writes++;
    return write(...args);
  };
  return { count: () => writes };
}

/** The `field:value` lines of one INFO section, as numbers where they are numbers. */
export async function info(client: Redis, section: string): Promise<Map<string, number>> {
  const text = await client.info(section);
  const values = new Map<string, number>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) values.set(line.slice(0, colon), Number(line.slice(colon + 1)));
  }
  return values;
}

/** CPU seconds the Redis server has used (user + system, main thread and the rest). */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const cpu = await info(client, 'cpu');
  return (cpu.get('used_cpu_user') ?? 0) + (cpu.get('used_cpu_sys') ?? 0);
}
