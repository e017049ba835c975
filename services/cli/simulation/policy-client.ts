// A Postfix policy delegation client (SMTPD_POLICY_README), as Postfix's smtpd is one: requests on one
// connection, replies in order. `relayguard simulate --target policy://` drives a running relayguard with it;
// tests and the load benchmark use it too. Requests may be pipelined: each promise settles with its own reply.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type Deferred, deferred } from '../../platform/deferred.js';

export type PolicyAttributes = Readonly<Record<string, string | number>>;

export class PolicyClient {
  readonly #socket: Socket;
  readonly #waiting: Deferred<string>[] = [];
  #received = '';
  #closedError: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.#onData(text));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () =>
      this.#fail(new Error('the policy server closed the connection without a reply')),
    );
  }

  static async connect(host: string, port: number, localAddress?: string): Promise<PolicyClient> {
    const socket = connect({ host, port, localAddress, noDelay: true });
    await once(socket, 'connect');
    return new PolicyClient(socket);
  }

  /** Sends one request; resolves with the reply's action (the text after `action=`). */
  request(attributes: PolicyAttributes): Promise<string> {
    const lines = Object.entries(attributes).map(([name, value]) => `${name}=${value}\n`);
    return this.send(`${lines.join('')}\n`);
  }

  /** Sends raw protocol text that ends one request; resolves with its reply's action. */
  send(text: string): Promise<string> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const reply = deferred<string>();
    this.#waiting.push(reply);
    this.#socket.write(text);
    return reply.promise;
  }

  /** Settles when the server has closed the connection. */
  get closed(): Promise<void> {
    return this.#socket.closed ? Promise.resolve() : once(this.#socket, 'close').then(() => undefined);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(text: string): void {
    this.#received += text;
    for (let end = this.#received.indexOf('\n\n'); end !== -1; end = this.#received.indexOf('\n\n')) {
      const reply = this.#received.slice(0, end);
      this.#received = this.#received.slice(end + 2);
      const waiter = this.#waiting.shift();
      if (!waiter) {
        this.#fail(new Error(`a reply nobody asked for: ${reply}`));
        return;
      }
      if (reply.startsWith('action=')) waiter.resolve(reply.slice('action='.length));
      else waiter.reject(new Error(`not a policy reply: ${reply}`));
    }
  }

  #fail(error: Error): void {
    this.#closedError ??= error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    this.#socket.destroy();
  }
}
