// Retrying the answers a live Kafka cluster gives for a while after a broker restart, a new topic or a
// coordinator failover: NOT_LEADER_FOR_PARTITION while a leader loads its partitions, UNKNOWN_TOPIC_OR_PARTITION
// from a broker the controller has not told yet, NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS while a group's
// coordinator loads the offsets topic. kafkajs marks them `retriable`, and its admin gives up on them after a
// few quick tries with the metadata it had.

/** Attempts of one call (about 15 s in all with the back-off below). */
const ATTEMPTS = 20;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 1_000;

export const isRetriable = (error: unknown): boolean =>
  (error as { retriable?: boolean } | undefined)?.retriable === true;

/**
 * Runs `call` until it resolves, a non-retriable error, or the last attempt. `beforeRetry` runs after each
 * back-off (refresh the metadata there).
 */
export async function retryingRetriable<T>(
  call: () => Promise<T>,
  beforeRetry: (error: unknown, attempt: number) => Promise<unknown> = async () => {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetriable(error) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(FIRST_BACKOFF_MS * attempt, MAX_BACKOFF_MS)),
      );
      await beforeRetry(error, attempt);
    }
  }
}
