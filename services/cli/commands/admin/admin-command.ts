// What each admin command group registers its commands with: a command that builds the admin API client from
// the flags and the configuration, and prints the API's JSON (--json) or the human text.
import type { Command } from 'commander';
import { type AdminClient, segment } from '../../admin-client.js';

/** Prints `value` as JSON with --json, else the human text. */
export type Printer = (value: unknown, human: () => string) => void;

export type Action = (
  client: AdminClient,
  print: Printer,
  args: string[],
  opts: Record<string, unknown>,
) => Promise<void>;

/** Adds the subcommand `name` to `parent`, with the client flags (--url, --token, --json). */
export type AdminCommand = (parent: Command, name: string, description: string, action: Action) => Command;

/** The action of a command that shows one of a tenant's resources: GET /v1/tenants/<tenantId>/<resource>. */
export function showTenantResource<T>(resource: string, render: (value: T) => string): Action {
  return async (client, print, [tenant]) => {
    const value = await client.get<T>(`/v1/tenants/${segment(tenant!)}/${resource}`);
    print(value, () => render(value));
  };
}

/**
 * The action of a command that removes what its last argument names: DELETE at `path`, given the arguments
 * ready to stand in a path.
 */
export function removeResource(path: (segments: string[]) => string): Action {
  return async (client, print, args) => {
    await client.delete(path(args.map(segment)));
    const removed = args.at(-1);
    print({ removed }, () => `removed ${removed}`);
  };
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
