#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need (see scripts/test-env/ensure-deps.sh), checks
# that the generated contracts are current, lints, type-checks, then runs every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

bash scripts/test-env/ensure-deps.sh
npx tsx scripts/gen-contracts.ts --check
npx biome check .
npx tsc -p tsconfig.json --noEmit

# The event-log contract suite on every other supported broker version (Kafka 4.x: README, "Production deployment"),
# first, so that the whole suite's summary closes the output.
grep -Ev '^(#|$)' scripts/test-env/kafka/versions | tail -n +2 | while read -r version; do
  RELAYGUARD_TEST_KAFKA_VERSION="$version" node --import tsx scripts/test-env/with-kafka.ts \
    node --import tsx --test --test-reporter=spec test/contract/kafka-event-log.test.ts
done

# One Apache Kafka broker serves the whole run (scripts/test-env/with-kafka.ts prints its version); each test
# file starts the other real components it needs on free loopback ports and stops them by pid.
node --import tsx scripts/test-env/with-kafka.ts \
  node --import tsx --test --test-reporter=spec --test-concurrency=2 \
  test/unit/**/*.test.ts test/contract/**/*.test.ts test/integration/**/*.test.ts test/e2e/**/*.test.ts
