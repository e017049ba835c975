// Every admin API route with generated bodies, path parameters and principals, through fastify's inject() on
// the real embedded pipeline: the answer is a success or a refusal in the one error shape, never a 5xx.
import fc from 'fast-check';
import { API_TOKENS, ATTESTED, bearer, startAdminApi, TOKENS } from '../support/admin-api.js';
import { OPERATOR, startPipeline } from '../support/pipeline-driver.js';
import { type FuzzTarget, violation } from './harness.js';

interface AdminCase {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  token: string | null;
  payload: string | undefined;
}

const segment = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      'acme',
      'globex',
      'hq',
      'acme.example',
      'bücher.example',
      'xn--bcher-kva.example',
    ),
  },
  fc.domain(),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ minLength: 130, maxLength: 300 }),
);

const json = (value: unknown) => JSON.stringify(value);
const anyBody = fc.oneof(
  fc.jsonValue().map(json),
  fc.object().map(json),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constant(json({ senderIpRanges: Array.from({ length: 4000 }, () => '192.0.2.0/24') })),
);
const ranges = fc.array(
  fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 33 })).map(([ip, p]) => `${ip}/${p}`),
    fc.ipV6(),
    fc.string({ maxLength: 20 }),
  ),
  { maxLength: 6 },
);
const attestations = fc.oneof(
  fc.constant(ATTESTED),
  fc.record({
    domainsRegistered: fc.boolean(),
    connectorsReviewed: fc.boolean(),
    serversSecured: fc.boolean(),
  }),
  fc.jsonValue(),
);
const threshold = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }),
  fc.double(),
  fc.constant(null),
  fc.string(),
);

interface RouteCase {
  method: AdminCase['method'];
  path: (t: string, x: string) => string;
  body: fc.Arbitrary<string | undefined>;
}

/** A route whose requests carry no body. */
const bodiless = (method: AdminCase['method'], path: RouteCase['path']): fc.Arbitrary<RouteCase> =>
  fc.constant({ method, path, body: fc.constant(undefined) });

/** Bodies shaped like each route's, with values that are right, wrong, or of the wrong type. */
const routeCases: fc.Arbitrary<RouteCase>[] = [
  fc.constant({
    method: 'PUT' as const,
    path: (t: string, x: string) => `/v1/tenants/${t}/accepted-domains/${x}`,
    body: fc.oneof(fc.record({ matchSubdomains: fc.oneof(fc.boolean(), fc.jsonValue()) }).map(json), anyBody),
  }),
  bodiless('DELETE', (t, x) => `/v1/tenants/${t}/accepted-domains/${x}`),
  bodiless('GET', (t) => `/v1/tenants/${t}/accepted-domains`),
  fc.constant({
    method: 'PUT' as const,
    path: (t: string, x: string) => `/v1/tenants/${t}/connectors/${x}`,
    body: fc.oneof(
      fc
        .record(
          {
            relayPath: fc.oneof(fc.constantFrom('ONPREM', 'FORWARDED', 'APPLICATION'), fc.string()),
            senderIpRanges: ranges,
            tlsCertificateDomain: fc.oneof(fc.domain(), fc.constant(null), fc.string()),
            enabled: fc.oneof(fc.boolean(), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map(json),
      anyBody,
    ),
  }),
  bodiless('DELETE', (t, x) => `/v1/tenants/${t}/connectors/${x}`),
  bodiless('GET', (t) => `/v1/tenants/${t}/connectors`),
  bodiless('GET', (t) => `/v1/tenants/${t}/connectors/review`),
  bodiless('GET', (t) => `/v1/tenants/${t}/status`),
  fc.constant({
    method: 'POST' as const,
    path: (t: string) => `/v1/tenants/${t}/unblock`,
    body: fc.oneof(
      fc.record({ ticket: fc.string({ maxLength: 300 }), attestations }, { requiredKeys: [] }).map(json),
      anyBody,
    ),
  }),
  fc.constant({
    method: 'POST' as const,
    path: (t: string) => `/v1/tenants/${t}/self-service-unblock`,
    body: fc.oneof(fc.record({ ticket: fc.string(), attestations }, { requiredKeys: [] }).map(json), anyBody),
  }),
  bodiless('GET', (_t, x) => `/v1/blocks?limit=${x}&cursor=${x}`),
  bodiless('GET', (t) => `/v1/tenants/${t}/policy`),
  fc.constant({
    method: 'PUT' as const,
    path: (t: string) => `/v1/tenants/${t}/policy`,
    body: fc.oneof(
      fc
        .record(
          {
            mode: fc.oneof(fc.constantFrom('ENFORCE', 'MONITOR'), fc.string()),
            minUnregistered: threshold,
            minUnregisteredRatio: threshold,
            minDistinctDomains: threshold,
            minUnregisteredWithDistinct: threshold,
            forwardedWeight: threshold,
          },
          { requiredKeys: [] },
        )
        .map(json),
      anyBody,
    ),
  }),
];

export async function adminApiTarget(): Promise<FuzzTarget<AdminCase>> {
  const driver = await startPipeline();
  await driver.runtime.admin!.putAcceptedDomain(OPERATOR, 'acme', 'acme.example', false);
  const app = await startAdminApi(driver, { tokens: API_TOKENS, rateLimitPerMinute: 1_000_000 });
  const tokens = [
    TOKENS.operator,
    TOKENS.operator,
    TOKENS.acmeAdmin,
    TOKENS.reader,
    'not-a-token-0123456789',
    null,
  ];
  return {
    name: 'admin API bodies (every route, every role)',
    cases: 4_000,
    // Accepted changes are kept in the embedded event log: the heap grows with what was accepted.
    maxHeapGrowthBytes: 64 * 1024 * 1024,
    arbitrary: fc
      .tuple(fc.oneof(...routeCases), segment, segment, fc.constantFrom(...tokens))
      .chain(([route, tenant, other, token]) =>
        route.body.map((payload) => ({
          method: route.method,
          url: route.path(encodeURIComponent(tenant), encodeURIComponent(other)),
          token,
          payload,
        })),
      ),
    async check({ method, url, token, payload }) {
      const response = await app.inject({
        method,
        url,
        headers: {
          ...(token ? bearer(token) : {}),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { payload }),
      });
      const status = response.statusCode;
      violation(status < 500, `${method} ${url} -> ${status}: ${response.body.slice(0, 300)}`);
      if (status >= 400) {
        const body = response.json() as Record<string, unknown>;
        violation(
          typeof body.error === 'string' && typeof body.message === 'string' && body.message.length > 0,
          `${method} ${url} -> ${status} without the error shape: ${response.body.slice(0, 300)}`,
        );
      }
      return String(status);
    },
    async close() {
      await app.close();
      await driver.stop();
    },
  };
}
