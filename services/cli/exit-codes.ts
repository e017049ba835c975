/** Exit codes that mean something to scripts and supervisors. */
export const ExitCode = {
  OK: 0,
  /** An unexpected failure: the process should be restarted. */
  FAILURE: 1,
  /** Bad command-line usage. */
  USAGE: 2,
  /** Invalid configuration: fix the named variable; restarting will not help. */
  CONFIG: 3,
  /** The command ran, but its result is not what was expected (e.g. a simulation that did not block). */
  UNEXPECTED_RESULT: 4,
  /** The server refused the credentials (401/403). */
  AUTH: 5,
  /** The server failed (5xx) or could not be reached. */
  SERVER: 6,
  /** The server understood the request and refused it as it stands (404, 409, 413, 422, 429): the message says why. */
  REFUSED: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
