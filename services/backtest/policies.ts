// Candidate policies for a backtest: each is the policy in force with some numbers changed, given on the command
// line (`strict:minUnregistered=250,minDistinctDomains=25`) or in a JSON file. Errors name the policy and the
// field and say what is allowed.
import { z } from 'zod';
import { PolicyModeValues } from '../core/contracts.generated.js';
import { RelayguardError } from '../core/errors.js';
import { BLOCK_SCOPE_MODES, type Policy } from '../core/policy.js';
import type { NamedPolicy } from './engine.js';

export const IN_FORCE = 'in-force';

const count = z.coerce.number().int().positive();
const fraction = z.coerce.number().min(0).max(1);

const ChangesSchema = z
  .object({
    mode: z.enum(PolicyModeValues),
    minUnregistered: count,
    minUnregisteredRatio: fraction,
    minDistinctDomains: count,
    minUnregisteredWithDistinct: count,
    forwardedWeight: fraction,
    windowMinutes: count.max(1440),
    graceMinutes: z.coerce.number().int().min(0),
    distinctDomainCap: count.max(10_000),
    /** What a block covers (RELAYGUARD_BLOCK_SCOPE): tenant, connector or auto. */
    scope: z.enum(BLOCK_SCOPE_MODES),
  })
  .partial()
  .strict();

export type PolicyChanges = z.infer<typeof ChangesSchema>;
export const POLICY_KEYS = Object.keys(ChangesSchema.shape) as (keyof PolicyChanges)[];

const NAME = /^[A-Za-z0-9][\w.-]{0,39}$/;

function fail(where: string, message: string, field?: string): never {
  throw new RelayguardError('INVALID_FIELD', `${where}: ${message}`, { field: field ?? 'policy' });
}

/** The policy in force with `changes` applied, checked as the configuration is. */
export function derivePolicy(base: Policy, name: string, changes: unknown, where: string): NamedPolicy {
  if (!NAME.test(name) || name === IN_FORCE)
    fail(
      where,
      `the name "${name.slice(0, 40)}" must be 1-40 letters, digits, '.', '_' or '-' and not "${IN_FORCE}"`,
    );
  const parsed = ChangesSchema.safeParse(changes);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : String(issue.path[0] ?? '');
    const hint = issue.code === 'unrecognized_keys' ? `; known: ${POLICY_KEYS.join(', ')}` : '';
    fail(`${where} "${name}"`, `${field}: ${issue.message}${hint}`, field);
  }
  const c = parsed.data;
  const policy: Policy = {
    ...base,
    mode: c.mode ?? base.mode,
    thresholds: {
      minUnregistered: c.minUnregistered ?? base.thresholds.minUnregistered,
      minUnregisteredRatio: c.minUnregisteredRatio ?? base.thresholds.minUnregisteredRatio,
      minDistinctDomains: c.minDistinctDomains ?? base.thresholds.minDistinctDomains,
      minUnregisteredWithDistinct:
        c.minUnregisteredWithDistinct ?? base.thresholds.minUnregisteredWithDistinct,
    },
    forwardedWeight: c.forwardedWeight ?? base.forwardedWeight,
    windowMinutes: c.windowMinutes ?? base.windowMinutes,
    graceMinutes: c.graceMinutes ?? base.graceMinutes,
    distinctDomainCap: c.distinctDomainCap ?? base.distinctDomainCap,
    blockScope: c.scope ?? base.blockScope,
  };
  if (policy.graceMinutes >= policy.windowMinutes)
    fail(`${where} "${name}"`, 'graceMinutes: must be less than windowMinutes', 'graceMinutes');
  if (policy.distinctDomainCap < policy.thresholds.minDistinctDomains)
    fail(
      `${where} "${name}"`,
      'distinctDomainCap: must be at least minDistinctDomains, or D could never reach its threshold',
      'distinctDomainCap',
    );
  return { name, policy };
}

/** `name:key=value,key=value` (the name may be left out: `candidate-<n>`). */
export function parsePolicySpec(base: Policy, spec: string, index: number): NamedPolicy {
  const colon = spec.indexOf(':');
  const equals = spec.indexOf('=');
  const named = colon !== -1 && (equals === -1 || colon < equals);
  const name = named ? spec.slice(0, colon).trim() : `candidate-${index + 1}`;
  const body = named ? spec.slice(colon + 1) : spec;
  const changes: Record<string, string> = {};
  for (const pair of body.split(',')) {
    if (pair.trim() === '') continue;
    const [key, value, ...rest] = pair.split('=');
    if (value === undefined || rest.length > 0 || key!.trim() === '')
      fail(
        `--policy "${name}"`,
        `"${pair.trim().slice(0, 60)}" is not key=value (known keys: ${POLICY_KEYS.join(', ')})`,
      );
    changes[key!.trim()] = value.trim();
  }
  return derivePolicy(base, name, changes, '--policy');
}

const PoliciesFileSchema = z.union([
  z.array(z.looseObject({ name: z.string() })),
  z.object({ policies: z.array(z.looseObject({ name: z.string() })) }).transform((file) => file.policies),
]);

/** A JSON file: `[{"name": "strict", "minUnregistered": 250}, ...]` or `{"policies": [...]}`. */
export function parsePoliciesFile(base: Policy, input: unknown, source: string): NamedPolicy[] {
  const parsed = PoliciesFileSchema.safeParse(input);
  if (!parsed.success)
    fail(source, 'expected a list of policies, each with a "name" and the numbers it changes');
  return parsed.data.map(({ name, ...changes }, i) => derivePolicy(base, name, changes, `${source}[${i}]`));
}

/** The policy in force first, then the candidates; names must be unique. */
export function policiesToRun(inForce: Policy, candidates: readonly NamedPolicy[]): NamedPolicy[] {
  const seen = new Set<string>();
  for (const { name } of candidates) {
    if (seen.has(name)) fail('--policy', `two candidate policies are named "${name}"`);
    seen.add(name);
  }
  return [{ name: IN_FORCE, policy: inForce }, ...candidates];
}
