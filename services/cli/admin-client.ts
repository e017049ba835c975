// The admin CLI's HTTP client: Node's fetch against the admin API, errors turned into exit codes. Bad input the
// server rejects (400) is a usage error, 401/403 an auth error, 5xx or no connection a server error, and any
// other refusal (404, 409, 413, 422, 429) its own code, so scripts can tell them apart.
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** An error the CLI reports in one line and exits with; `body` is the server's error, printed with --json. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly body: unknown;

  constructor(message: string, exitCode: ExitCodeValue, body?: unknown) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.body = body;
  }
}

export interface ClientOptions {
  readonly url: string;
  readonly token: string | undefined;
  /** The command's flags by the API field they fill (relayPath -> --path): refusals name what the user typed. */
  readonly flags?: Readonly<Record<string, string>>;
}

export class AdminClient {
  readonly #base: URL;
  readonly #token: string;
  readonly #flags: Readonly<Record<string, string>>;

  constructor(options: ClientOptions) {
    if (!options.token) {
      throw new CliError('no token: pass --token <token> or set RELAYGUARD_TOKEN', ExitCode.USAGE);
    }
    try {
      this.#base = new URL(options.url);
    } catch {
      throw new CliError(`--url: "${options.url}" is not a URL like http://127.0.0.1:8080`, ExitCode.USAGE);
    }
    this.#token = options.token;
    this.#flags = options.flags ?? {};
  }

  get<T>(path: string): Promise<T> {
    return this.#request<T>('GET', path);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('PUT', path, body);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('PATCH', path, body);
  }

  delete(path: string): Promise<void> {
    return this.#request<void>('DELETE', path);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.#base);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach ${this.#base.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message} (is relayguard running? set --url or RELAYGUARD_URL)`,
        ExitCode.SERVER,
      );
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : parseJson(text);
    if (response.ok) return parsed as T;
    const problem = parsed as { error?: string; message?: string } | undefined;
    const said =
      response.status === 401
        ? `${this.#base.origin} refused the token: check --token / RELAYGUARD_TOKEN`
        : inFlagTerms(problem?.message ?? `${response.status} ${response.statusText}`, this.#flags);
    const message = `${said}${problem?.error ? ` [${problem.error}]` : ''}`;
    throw new CliError(message, exitCodeFor(response.status), parsed);
  }
}

/**
 * The API's message with the field it names replaced by the flag that fills it: `senderIpRanges[0]: ...` becomes
 * `--range: ...`, and `attestations: domainsRegistered, serversSecured must be true` becomes
 * `--domains-registered, --servers-secured must be true`. The --json output keeps the API's own body.
 */
export function inFlagTerms(message: string, flags: Readonly<Record<string, string>>): string {
  const match = /^([\w.]+)(?:\[\d+\])?: (.*)$/s.exec(message);
  if (!match) return message;
  const [, field = '', rest = ''] = match;
  const flag = flags[field] ?? flags[field.split('.').at(-1)!];
  if (flag) return `${flag}: ${rest}`;
  const list = /^\w+(?:, \w+)*(?= )/.exec(rest)?.[0];
  const names = list?.split(', ') ?? [];
  if (list === undefined || !names.every((name) => flags[name])) return message;
  return `${names.map((name) => flags[name]).join(', ')}${rest.slice(list.length)}`;
}

function exitCodeFor(status: number): ExitCodeValue {
  if (status === 400) return ExitCode.USAGE;
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status >= 500) return ExitCode.SERVER;
  return ExitCode.REFUSED;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** A path segment: tenant ids, connector ids and domains (Unicode ones too) go into URLs escaped. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
