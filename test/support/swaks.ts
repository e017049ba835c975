// Sends one message with swaks (Debian's) and reads the server's replies out of its transcript.
import { execFile as execFileCallback } from 'node:child_process';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);

export interface SwaksMessage {
  readonly server: string;
  readonly port: number;
  readonly from: string;
  readonly to: string;
  /** The client's source address: different 127.0.0.x addresses are different tenants' servers. */
  readonly localInterface?: string;
}

export interface SwaksResult {
  /** The server's reply to RCPT TO, e.g. `250 2.1.5 Ok` or `550 5.7.750 <...>: Recipient address rejected: ...`. */
  readonly rcptReply: string;
  /** The queue id of an accepted message (`250 2.0.0 Ok: queued as <id>`). */
  readonly queueId: string | undefined;
  readonly transcript: string;
}

export async function swaks(message: SwaksMessage): Promise<SwaksResult> {
  const args = [
    ['--server', message.server],
    ['--port', String(message.port)],
    ['--from', message.from],
    ['--to', message.to],
    ['--helo', 'onprem.relayguard.test'],
    ['--timeout', '30'],
    ...(message.localInterface ? [['--local-interface', message.localInterface]] : []),
  ].flat();
  let transcript: string;
  try {
    transcript = (await execFile('swaks', args)).stdout;
  } catch (error) {
    // swaks exits non-zero when the server refuses a command; the transcript says which and how.
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    transcript = stdout;
  }
  const lines = transcript.split('\n');
  const rcpt = lines.findIndex((line) => line.startsWith(' -> RCPT TO:'));
  const rcptReply = (lines[rcpt + 1] ?? '').replace(/^<(-|\*\*) +/, '');
  const queueId = /^<- +250 [\d.]+ Ok: queued as (\w+)/m.exec(transcript)?.[1];
  return { rcptReply, queueId, transcript };
}
