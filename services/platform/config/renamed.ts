// Variables that were renamed keep working under their old name, with a warning, so that a deployment renames them
// at its own pace.

/**
 * Old name → new name. The Postfix policy server's variables were RELAYGUARD_POLICY_*, beside the scoring
 * policy's (RELAYGUARD_POLICY_MODE): they are RELAYGUARD_POSTFIX_* now.
 */
export const RENAMED_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  RELAYGUARD_POLICY_PORT: 'RELAYGUARD_POSTFIX_PORT',
  RELAYGUARD_POLICY_MAX_CONNECTIONS: 'RELAYGUARD_POSTFIX_MAX_CONNECTIONS',
  RELAYGUARD_POLICY_IDLE_TIMEOUT_SECONDS: 'RELAYGUARD_POSTFIX_IDLE_TIMEOUT_SECONDS',
  RELAYGUARD_POLICY_REQUEST_TIMEOUT_SECONDS: 'RELAYGUARD_POSTFIX_REQUEST_TIMEOUT_SECONDS',
  RELAYGUARD_POLICY_ALLOWED_CLIENTS: 'RELAYGUARD_POSTFIX_ALLOWED_CLIENTS',
});

export interface Renamed {
  /** The environment with every value under its current name. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** One line for each old name set: that it is deprecated, or ignored when the new name is set too. */
  readonly warnings: readonly string[];
  /** For each current name read from an old one, the old one: a problem with the value names what was set. */
  readonly setAs: ReadonlyMap<string, string>;
}

export function underCurrentNames(env: Readonly<Record<string, string | undefined>>): Renamed {
  const current = { ...env };
  const warnings: string[] = [];
  const setAs = new Map<string, string>();
  for (const [old, name] of Object.entries(RENAMED_VARIABLES)) {
    if (env[old] === undefined) continue;
    delete current[old];
    if (env[name] !== undefined) {
      warnings.push(`${old} is ignored: ${name}, its new name, is set too; unset ${old}`);
    } else {
      current[name] = env[old];
      setAs.set(name, old);
      warnings.push(`${old} is deprecated: rename it ${name}`);
    }
  }
  return { env: current, warnings, setAs };
}
