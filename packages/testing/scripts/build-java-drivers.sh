#!/usr/bin/env bash
# Builds the Java test drivers (packages/testing/java: the Apache Kafka Java client behind the
# line protocol, a Kafka Streams word count, Kafka's command-line tools and Apicurio's Avro serdes
# on one classpath) that packages/testing/test/clients/java-*.test.ts and
# test/schema-registry/apicurio-schema-registry.test.ts run. Idempotent: the Maven build is skipped
# while the pom and sources hash to the value the last build stamped into target/. Installs
# Java 17 and Maven from Debian when missing; Maven downloads into ~/.m2 (about 150 MB).
set -euo pipefail
cd "$(dirname "$0")/../java"

if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
  echo "build-java-drivers: installing maven and openjdk-17-jdk-headless"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends maven openjdk-17-jdk-headless
fi
java_major=$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')
if ((java_major < 17)); then
  echo "build-java-drivers: $(javac -version 2>&1) is older than Java 17" >&2
  exit 1
fi

stamp=target/.build-stamp
hash=$( (
  javac -version 2>&1
  find pom.xml src -type f -print | LC_ALL=C sort | xargs sha256sum
) | sha256sum | cut -d' ' -f1)

# A class file newer than the stamp comes from a build outside this script (a hand-run mvn on
# edited sources): rebuild rather than trust it.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] &&
  [ -f target/classes/dev/tributary/testing/LineDriver.class ] && [ -d target/lib ] &&
  [ -z "$(find target/classes -newer "$stamp" -print -quit)" ]; then
  echo "build-java-drivers: drivers up to date"
  exit 0
fi

start=$(date +%s)
# A clean lib/ so a dependency dropped from the pom does not linger on the classpath.
rm -rf target/lib target/classes
# -q still leaves ANSI resets from Maven 3.8's console; strip them from the CI log.
mvn -q -B -Dstyle.color=never package -DskipTests 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
echo "$hash" >"$stamp"
echo "build-java-drivers: built target/classes and target/lib ($(ls target/lib | wc -l) jars)" \
  "in $(($(date +%s) - start)) s"
