/** Work that must not interleave across awaits (it reads and changes shared state) takes turns. */
export type Turns = <T>(work: () => Promise<T>) => Promise<T>;

/** Runs each piece of work after the previous one settled, in call order, whether it succeeded or failed. */
export function takingTurns(): Turns {
  let turn: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = turn.then(work, work);
    turn = run.catch(() => undefined);
    return run;
  };
}
