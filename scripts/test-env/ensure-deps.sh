#!/usr/bin/env bash
# Makes sure the machine has what the test suite starts for real (see DESIGN.md, "Real components"):
# redis-server, librdkafka's mock cluster (headers + lib, and a C compiler for the launcher), postfix,
# swaks, prometheus, postfwd, chromium, dnsmasq, Java 17 and Maven. Installs what is missing with apt-get when run as root
# on Debian, otherwise names what is missing and exits 1. Then compiles the Kafka mock launcher into .cache/ and
# fetches the Apache Kafka broker's jars from Maven Central into .cache/kafka-<version>/.
# Idempotent: with everything present it touches neither apt, the compiler nor Maven.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# "what to check" → Debian package that provides it.
missing_packages=()
missing_things=()
need() {
  local what="$1" package="$2" ok="$3"
  if ! eval "$ok" >/dev/null 2>&1; then
    missing_things+=("$what")
    # One package can provide several checked things (postfix, prometheus).
    if [[ " ${missing_packages[*]-} " != *" $package "* ]]; then missing_packages+=("$package"); fi
  fi
}
have_cmd() { command -v "$1" || [[ -x "/usr/sbin/$1" ]]; }

need redis-server redis-server 'have_cmd redis-server'
need redis-cli redis-tools 'have_cmd redis-cli'
need openssl openssl 'have_cmd openssl'
need gcc gcc 'have_cmd gcc'
need 'libc headers' libc6-dev '[[ -f /usr/include/stdio.h ]]'
need pkg-config pkg-config 'have_cmd pkg-config'
need 'librdkafka mock headers' librdkafka-dev '[[ -f /usr/include/librdkafka/rdkafka_mock.h ]]'
need 'librdkafka pkg-config' librdkafka-dev 'pkg-config --exists rdkafka'
need postfix postfix 'have_cmd postfix'
need swaks swaks 'have_cmd swaks'
need prometheus prometheus 'have_cmd prometheus'
need promtool prometheus 'have_cmd promtool'
# The policy benchmark (bench/policy.ts, run --quick by the suite) compares with Debian's postfwd.
need postfwd2 postfwd 'have_cmd postfwd2'
# The console's browser tests drive Debian's chromium with playwright-core (which never downloads a browser).
need chromium chromium '[[ -x /usr/bin/chromium ]]'
# The Apache Kafka broker runs from its Maven Central jars (test/support/kafka-broker.ts); Kafka 4 needs Java 17.
need 'java 17+' openjdk-17-jre-headless 'java -version 2>&1 | grep -Eq "version \"(1[7-9]|[2-9][0-9])"'
need mvn maven 'have_cmd mvn'
# Domain verification tests serve TXT records from Debian's dnsmasq (the binary only: no system service).
need dnsmasq dnsmasq-base 'have_cmd dnsmasq'

if ((${#missing_packages[@]} > 0)); then
  if [[ "$(id -u)" != 0 || ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null; then
    echo "ensure-deps: missing: ${missing_things[*]}" >&2
    echo "ensure-deps: install the Debian packages: ${missing_packages[*]}" >&2
    echo "ensure-deps: (run this script as root on Debian to install them automatically)" >&2
    exit 1
  fi
  echo "ensure-deps: installing ${missing_packages[*]}" >&2

  # Installing redis-server, postfix or prometheus would otherwise start (and enable) their system
  # services — a postfix on port 25, a prometheus on 9090. Tests run their own instances on free ports,
  # so forbid service starts during the install (invoke-rc.d honours policy-rc.d exit 101).
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  # "No configuration": postfix installs without writing main.cf and without asking anything.
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  echo 'postfix postfix/mailname string localhost' | debconf-set-selections

  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null

  # A systemd machine would still have the units enabled for the next boot.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now postfix prometheus redis-server >/dev/null 2>&1 || true
  fi
fi

# The Kafka mock launcher: rebuilt only when its source is newer than the binary.
src="$repo_root/test/support/kafka-mock/launcher.c"
bin="$repo_root/.cache/kafka-mock-launcher"
if [[ ! -x "$bin" || "$src" -nt "$bin" ]]; then
  mkdir -p "$(dirname "$bin")"
  # Compile to a temp name and rename, so a concurrent test never runs a half-written binary.
  # shellcheck disable=SC2046 # pkg-config prints several flags on purpose
  gcc -O2 -Wall -Wextra -o "$bin.tmp.$$" "$src" $(pkg-config --cflags --libs rdkafka)
  mv -f "$bin.tmp.$$" "$bin"
  echo "ensure-deps: built $bin" >&2
fi

# The Apache Kafka broker: each version of scripts/test-env/kafka/versions, fetched once. The jars are copied to a
# temp folder and renamed when complete, so an interrupted fetch is retried instead of leaving half a classpath.
while read -r version; do
  [[ -z "$version" || "$version" == \#* ]] && continue
  jars="$repo_root/.cache/kafka-$version"
  [[ -f "$jars/kafka_2.13-$version.jar" ]] && continue
  echo "ensure-deps: fetching Apache Kafka $version from Maven Central into $jars" >&2
  rm -rf "$jars.tmp.$$"
  if ! mvn -q -B -f "$repo_root/scripts/test-env/kafka/pom.xml" dependency:copy-dependencies -Dstyle.color=never \
    -Dkafka.version="$version" -DincludeScope=runtime -DoutputDirectory="$jars.tmp.$$" >&2; then
    rm -rf "$jars.tmp.$$"
    echo "ensure-deps: could not fetch org.apache.kafka:kafka_2.13:$version with Maven (see above)" >&2
    exit 1
  fi
  rm -rf "$jars"
  mv "$jars.tmp.$$" "$jars"
done <"$repo_root/scripts/test-env/kafka/versions"
