#!/usr/bin/env bash
# Install the Debian 12 packages Petrel needs to build, test, fuzz and benchmark.
#
# Checks each package with dpkg-query first and touches apt only when something is
# missing, so that repeated runs are fast and do not need the network. Must run as root
# (or with sudo available) when something is missing.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

# One line per package, with why we need it.
readonly PACKAGES=(
    build-essential      # make, libc headers
    g++                  # the compiler (g++ 12), with ASan/UBSan/LSan runtimes
    cmake
    pkg-config           # finds libmosquitto
    clang                # the libFuzzer build
    libclang-rt-14-dev   # libFuzzer and the sanitizer runtimes for clang (only "Recommended" by clang)
    libssl-dev
    liblmdb-dev
    libspdlog-dev
    libfmt-dev
    libcli11-dev
    libgtest-dev
    libgmock-dev
    libbenchmark-dev
    libmosquitto-dev     # client library for tests and examples
    libpaho-mqtt-dev     # needed by the Paho C++ CMake config, not pulled in by it
    libpaho-mqttpp-dev
    mosquitto            # the reference broker tests and benchmarks compare against
    mosquitto-clients    # mosquitto_pub / mosquitto_sub
    openssl              # tls/gen-certs.sh
)

check_only=false
case "${1:-}" in
    --check) check_only=true ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if $check_only; then
    exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: not root and no sudo; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

# Installing the mosquitto package starts and enables its service, which then holds
# 127.0.0.1:1883, Petrel's default port. Tests start their own mosquitto on ephemeral
# ports, so the system service is not needed: stop it, but only if we just installed it.
for package in "${missing[@]}"; do
    if [[ "$package" == mosquitto && -d /run/systemd/system ]]; then
        echo "install-deps: stopping and disabling the mosquitto service apt just started" \
             "(it would hold port 1883; re-enable with: systemctl enable --now mosquitto)"
        "${sudo[@]}" systemctl disable --now mosquitto.service || true
    fi
done

echo "install-deps: done"
