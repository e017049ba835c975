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

# The Node.js that ships (deploy/Dockerfile) runs everything below; the oldest one package.json's engines allows
# runs the unit and contract tests first. Each is first on PATH, so the processes the tests start run on it too.
shipped=$(bash scripts/test-env/node.sh shipped)
oldest=$(bash scripts/test-env/node.sh oldest)
echo "unit and contract tests on Node.js $("$oldest" --version), the oldest package.json allows"
PATH="$(dirname "$oldest"):$PATH" node --import tsx scripts/test-env/with-kafka.ts \
  node --import tsx --test --test-reporter=dot --test-concurrency=2 test/unit/**/*.test.ts test/contract/**/*.test.ts
export PATH="$(dirname "$shipped"):$PATH"
echo "the suite on Node.js $(node --version), the one deploy/Dockerfile ships"

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
