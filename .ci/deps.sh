#!/usr/bin/env bash
# Installs everything logferry needs to build and test on Debian 12 (bookworm).
set -euo pipefail
# clang-format-14 is pinned by major version (.ci/checksrc refuses any other: formatting
# differs between versions); pmccabe measures function length for .ci/checksrc; clang
# builds the fuzz targets (.ci/fuzz.sh) and valgrind runs the memcheck step (.ci/valgrind.sh).
pkgs=(
  gcc meson ninja-build pkg-config clang-format-14 pmccabe
  libfyaml-dev librdkafka-dev librabbitmq-dev libcurl4-openssl-dev zlib1g-dev libpcre2-dev
  libglib2.0-dev tzdata
  libxxhash-dev libsystemd-dev libmicrohttpd-dev check
  rabbitmq-server amqp-tools kcat logrotate python3 python3-pika procps openssl
  clang valgrind
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
