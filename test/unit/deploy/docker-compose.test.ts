// docker-compose.yml is for users; no Docker engine runs here, so it is checked statically: every service is
// there with a health check, relayguard services use only variables and commands relayguard knows, and every
// mounted or copied path exists.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../../services/platform/config.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  restart?: string;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const relayguardServices = Object.entries(services).filter(
  ([, service]) => service.image === 'relayguard:local',
);

describe('docker-compose.yml', () => {
  it('runs Kafka, Schema Registry, Redis, Prometheus, Grafana and every relayguard service', () => {
    for (const name of [
      'kafka',
      'schema-registry',
      'redis',
      'prometheus',
      'grafana',
      'topics',
      'scorer',
      'enforcer',
      'admin',
    ]) {
      assert.ok(services[name], `service ${name}`);
    }
  });

  it('gives every long-running service a health check, and orders startup on them', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'topics') continue;
      assert.ok(service.healthcheck?.test && !service.healthcheck.disable, `${name} has a health check`);
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.ok(services[dependency], `${name} depends on an existing service ${dependency}`);
        assert.ok(
          ['service_healthy', 'service_completed_successfully'].includes(condition),
          `${name} waits for ${dependency}`,
        );
      }
    }
  });

  it('configures relayguard only with variables relayguard reads', () => {
    assert.ok(relayguardServices.length >= 4);
    for (const [name, service] of relayguardServices) {
      for (const variable of Object.keys(service.environment ?? {})) {
        assert.ok(CONFIG_VARIABLES.includes(variable), `${name}: ${variable} is not a relayguard variable`);
      }
    }
  });

  it('lets the published policy port answer through Docker, and keeps the shared settings', () => {
    const enforcer = services.enforcer!.environment ?? {};
    const { allowedClients } = loadConfig({
      RELAYGUARD_POSTFIX_ALLOWED_CLIENTS: enforcer.RELAYGUARD_POSTFIX_ALLOWED_CLIENTS,
    }).postfixService;
    assert.ok(allowedClients.some((range) => range.cidr === '172.16.0.0/12'));
    assert.equal(enforcer.KAFKA_BROKERS, services.scorer!.environment?.KAFKA_BROKERS);
  });

  it('runs relayguard commands that exist', () => {
    for (const [name, service] of relayguardServices) {
      const [command] = service.command ?? ['all'];
      assert.doesNotThrow(
        () => execFileSync('npx', ['tsx', 'services/cli/main.ts', command!, '--help'], { stdio: 'pipe' }),
        `${name}: relayguard ${command} exists`,
      );
    }
  });

  it('restarts every long-running relayguard service that exits on failure', () => {
    // The scorer exits 1 when kafkajs will not restart a crashed consumer (README, "Shutdown and crashes"): only a
    // supervisor brings it back. `topics` is a one-shot job; the services wait for its success instead.
    for (const [name, service] of relayguardServices) {
      if (name === 'topics') assert.equal(service.restart, 'no');
      else
        assert.match(
          service.restart ?? 'no',
          /^(always|unless-stopped|on-failure(:\d+)?)$/,
          `${name} restarts`,
        );
    }
  });

  it('keeps the enforcer index snapshot on a volume the image lets its user write', () => {
    const directory = services.enforcer?.environment?.RELAYGUARD_SNAPSHOT_DIR;
    assert.ok(directory, 'RELAYGUARD_SNAPSHOT_DIR is set');
    const volume = services.enforcer?.volumes?.find((v) => v.split(':')[1] === directory)?.split(':')[0];
    assert.ok(volume, `a volume is mounted at ${directory}`);
    assert.ok(volume in (compose.volumes ?? {}), `${volume} is a named volume: it outlives the container`);
    // Continuation lines joined: the chown that owns the directories the image makes for its user.
    const dockerfile = readFileSync('deploy/Dockerfile', 'utf8').replace(/\\\n/g, ' ');
    const owned = /chown node:node (.*)$/m.exec(dockerfile)?.[1]?.split(/\s+/) ?? [];
    assert.ok(
      owned.includes(directory),
      `deploy/Dockerfile owns ${directory} for its user (a new volume copies it)`,
    );
  });

  it('publishes ports on loopback only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? [])
        assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port}`);
    }
  });

  it('mounts and copies paths that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) assert.ok(existsSync(source), `${name} mounts ${source}`);
      }
      if (service.build)
        assert.ok(existsSync(service.build.dockerfile), `${name} builds ${service.build.dockerfile}`);
    }
    const dockerfile = readFileSync('deploy/Dockerfile', 'utf8');
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) {
      assert.ok(existsSync(source!.replace('/*.lua', '')), `Dockerfile copies ${source}`);
    }
  });
});
