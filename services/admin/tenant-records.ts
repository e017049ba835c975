// Reads every admin operation starts from: the tenant's record (or UNKNOWN_TENANT) and its stored window.
import type { TenantDirectory, TenantRecord } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import type { WindowCounts } from '../core/policy.js';
import { resetWindow, type TenantWindow, windowCounts } from '../core/windows.js';
import type { WindowStore } from '../platform/ports.js';
import type { TenantLookups } from './remediation-rules.js';

export function requireTenant(directory: TenantDirectory, tenantId: string): TenantRecord {
  const record = directory.tenant(tenantId);
  if (!record) {
    throw new RelayguardError(
      'UNKNOWN_TENANT',
      `tenantId: no tenant ${tenantId} (it has no accepted domain, connector, policy or block yet)`,
      { field: 'tenantId' },
    );
  }
  return record;
}

/** The tenant's stored window as the scorer sees it: an unblock the scorer has not folded yet already applies. */
export async function storedWindow(
  store: WindowStore,
  record: TenantRecord,
): Promise<TenantWindow | undefined> {
  const window = (await store.load([record.tenantId])).get(record.tenantId)?.window;
  if (window) resetWindow(window, record.generation);
  return window;
}

export function countsOf(window: TenantWindow | undefined, forwardedWeight: number): WindowCounts {
  return window
    ? windowCounts(window, forwardedWeight)
    : { unregistered: 0, forwardedUnregistered: 0, total: 0, distinctUnregisteredDomains: 0 };
}

/** What the remediation rules read of the directory about one tenant. */
export function tenantLookups(directory: TenantDirectory, tenantId: string): TenantLookups {
  return {
    connector: (connectorId) => directory.connector(tenantId, connectorId),
    isAccepted: (domain) => directory.acceptedDomain(tenantId, domain) !== undefined,
  };
}
