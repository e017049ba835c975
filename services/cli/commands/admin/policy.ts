// `relayguard policy get | set`: a tenant's policy overrides beside the global policy and what is in force.
import { type Command, Option } from 'commander';
import type { PolicyOverrides } from '../../../core/policy.js';
import { segment } from '../../admin-client.js';
import { numberOption } from '../../options.js';
import { renderTable } from '../../table.js';
import { type AdminCommand, showTenantResource, time } from './admin-command.js';

export function registerPolicyCommands(program: Command, command: AdminCommand): void {
  const policy = program.command('policy').description("a tenant's policy overrides");
  command(
    policy,
    'get',
    "the tenant's overrides, the global policy and what is in force",
    showTenantResource('policy', renderPolicy),
  ).argument('<tenantId>');
  const set = command(
    policy,
    'set',
    'change overrides (others keep theirs; --reset starts from none) (operators)',
    async (client, print, [tenant], opts) => {
      const path = `/v1/tenants/${segment(tenant!)}/policy`;
      const current = opts.reset ? {} : (await client.get<PolicyView>(path)).overrides;
      const given = Object.fromEntries(
        OVERRIDE_OPTIONS.map((option) => option.attributeName())
          .filter((key) => opts[key] !== undefined)
          .map((key) => [key, opts[key]]),
      );
      const view = await client.put<PolicyView>(path, { ...current, ...given });
      print(view, () => renderPolicy(view));
    },
  ).argument('<tenantId>');
  for (const option of OVERRIDE_OPTIONS) set.addOption(option);
  set.option('--reset', 'drop every current override first');
}

/** The options of `policy set`: each sets the field of PolicyOverrides named like it (--min-unregistered). */
const OVERRIDE_OPTIONS = [
  new Option('--mode <mode>', 'ENFORCE or MONITOR').choices(['ENFORCE', 'MONITOR']),
  numberOption('--min-unregistered <n>', 'U threshold of the volume rule', { min: 1, integer: true }),
  numberOption('--min-unregistered-ratio <x>', 'U/T threshold of the volume rule', { min: 0, max: 1 }),
  numberOption('--min-distinct-domains <n>', 'D threshold', { min: 1, integer: true }),
  numberOption('--min-unregistered-with-distinct <n>', 'U threshold of the distinct-domains rule', {
    min: 1,
    integer: true,
  }),
  numberOption('--forwarded-weight <x>', 'weight of forwarded unregistered mail in U', { min: 0, max: 1 }),
];

interface PolicyView {
  readonly overrides: PolicyOverrides;
  readonly global: { mode: string; thresholds: Record<string, number>; forwardedWeight: number };
  readonly effective: {
    mode: string;
    thresholds: Record<string, number>;
    forwardedWeight: number;
    probation: boolean;
    probationUntil: number | null;
  };
}

function renderPolicy(view: PolicyView): string {
  const overrides = view.overrides as Record<string, unknown>;
  const rows = [
    ['mode', view.global.mode, view.effective.mode],
    ...Object.keys(view.global.thresholds).map((key) => [
      key,
      String(view.global.thresholds[key]),
      String(view.effective.thresholds[key]),
    ]),
    ['forwardedWeight', String(view.global.forwardedWeight), String(view.effective.forwardedWeight)],
  ].map(([key, global, effective]) => [
    key!,
    overrides[key!] === undefined ? '-' : String(overrides[key!]),
    global!,
    effective!,
  ]);
  const table = renderTable(['SETTING', 'OVERRIDE', 'GLOBAL', 'IN FORCE'], rows);
  return view.effective.probationUntil
    ? `${table}\non probation until ${time(view.effective.probationUntil)}`
    : table;
}
