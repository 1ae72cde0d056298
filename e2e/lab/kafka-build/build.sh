#!/usr/bin/env bash
# Apache Kafka for the lab and the prediction-store tests: the broker's jars from Maven Central
# (org.apache.kafka:kafka_2.13 and its runtime dependencies, resolved by Debian's maven from a
# throwaway pom) and a JRE from Debian (openjdk-17-jre-headless); nothing from elsewhere. Cached per
# version outside the repo tree; prints the directory holding libs/ (the classpath) on stdout.
# Kafka runs in KRaft mode (no ZooKeeper): e2e/lab/kafka.ts formats the storage and starts it.
set -euo pipefail
KAFKA_VERSION="${KAFKA_VERSION:-$(cat "$(dirname "$0")/VERSION")}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/kafka/${KAFKA_VERSION}"
java_ok() { command -v java >/dev/null && [ "$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')" -ge 17 ] 2>/dev/null; }
if [ -f "$CACHE/.complete" ] && java_ok; then echo "$CACHE"; exit 0; fi
missing=()
java_ok || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "build-kafka: Kafka needs these Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "build-kafka: installing Debian packages ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$CACHE"
# Two runs at once must not resolve into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
[ -f "$CACHE/.complete" ] && { echo "$CACHE"; exit 0; }
echo "build-kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central (first time only; cached in $CACHE)" >&2
rm -rf "$CACHE/resolve" "$CACHE/libs"
mkdir -p "$CACHE/resolve"
cat >"$CACHE/resolve/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.onnxop.lab</groupId><artifactId>kafka-jars</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
  </dependencies>
</project>
POM
if ! (cd "$CACHE/resolve" && mvn -q -B -Dmaven.repo.local="$CACHE/resolve/m2" dependency:copy-dependencies \
  -DoutputDirectory="$CACHE/libs.tmp" -DincludeScope=runtime >"$CACHE/resolve/mvn.log" 2>&1); then
  cat "$CACHE/resolve/mvn.log" >&2
  echo "build-kafka: maven could not resolve kafka_2.13 ${KAFKA_VERSION} (above)" >&2
  exit 1
fi
mv "$CACHE/libs.tmp" "$CACHE/libs"
rm -rf "$CACHE/resolve"
[ -f "$CACHE/libs/kafka_2.13-${KAFKA_VERSION}.jar" ] || { echo "build-kafka: kafka_2.13-${KAFKA_VERSION}.jar missing from the resolved jars" >&2; exit 1; }
touch "$CACHE/.complete"
echo "$CACHE"
