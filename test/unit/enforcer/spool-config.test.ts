import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startRuntime } from '../../../services/app/runtime.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';

describe('spool configuration', () => {
  it('is off by default, in the embedded mode too', () => {
    assert.equal(loadConfig({}).spool, undefined);
  });

  it('reads the directory, the bound and the action when full', () => {
    const { spool } = loadConfig({
      RELAYGUARD_SPOOL_DIR: '/var/spool/relayguard',
      RELAYGUARD_SPOOL_MAX_BYTES: '2097152',
      RELAYGUARD_SPOOL_FULL_ACTION: 'defer',
    });
    assert.deepEqual(spool, { directory: '/var/spool/relayguard', maxBytes: 2097152, whenFull: 'defer' });
  });

  it('names each bad variable', () => {
    assert.throws(
      () =>
        loadConfig({
          RELAYGUARD_SPOOL_DIR: 'spool',
          RELAYGUARD_SPOOL_MAX_BYTES: '1000',
          RELAYGUARD_SPOOL_FULL_ACTION: 'drop',
        }),
      (error) => {
        assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG', String(error));
        assert.match(error.message, /RELAYGUARD_SPOOL_DIR: must be an absolute path/);
        assert.match(error.message, /RELAYGUARD_SPOOL_MAX_BYTES: must be a whole number 1048576 or more/);
        assert.match(error.message, /RELAYGUARD_SPOOL_FULL_ACTION: must be accept or defer/);
        return true;
      },
    );
  });

  it('stops startup with one line naming RELAYGUARD_SPOOL_DIR when the directory cannot be used', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'relayguard-spool-config-'));
    try {
      // A file where the directory should be.
      const directory = join(parent, 'spool');
      await writeFile(directory, 'not a directory');
      const config = loadConfig({ RELAYGUARD_SPOOL_DIR: directory });
      await assert.rejects(
        startRuntime(config, { services: ['enforcer'], logger: silentLogger }),
        (error) => {
          assert.ok(isRelayguardError(error) && error.code === 'INVALID_CONFIG', String(error));
          assert.match(error.message, /^RELAYGUARD_SPOOL_DIR: cannot use .*spool as the event spool: /);
          assert.ok(!error.message.includes('\n'), 'one line');
          return true;
        },
      );
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
