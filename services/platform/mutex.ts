/**
 * A mutex for async work: a critical section that reads and changes shared state across awaits runs alone.
 * `mutex(section)` resolves or rejects as the section does.
 */
export type Mutex = <T>(section: () => Promise<T>) => Promise<T>;

/** Runs each section after the previous one settled, in call order, whether it succeeded or failed. */
export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  return (section) => {
    const run = tail.then(section, section);
    tail = run.catch(() => undefined);
    return run;
  };
}
