#!/usr/bin/env bash
# Installs the Debian packages zferry needs to build, test and benchmark. Idempotent:
# does nothing (and touches no network) when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang lld libclang-rt-14-dev clang-format
  libboost1.81-dev liburing-dev libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev zlib1g-dev libssl-dev libyaml-cpp-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # the gRPC control channel: HTTP/2 from nghttp2 (sans-I/O sessions)
  libnghttp2-dev
  # tests and benchmarks: real ZFS, network namespaces, peers for the comparison
  zfs-fuse iproute2 iperf3 socat mbuffer openssh-server openssh-client python3
  # the chaos tests' faults: loss and silence as nftables rules in their namespaces
  nftables
  # the live `zferry status` test runs it in a real terminal: a tmux pane
  tmux
  # the zsh completion's tests: compinit finds dist/_zferry and completes with it
  zsh
  # the metrics tests: promtool checks the /metrics exposition, curl scrapes it
  prometheus curl
  # the TLS tests and the demo: certificates made with the openssl CLI
  openssl
  # the replication bench's baseline: syncoid (package sanoid), what users run today
  sanoid
  # gRPC interop peer (Google's gRPC core) for /usr/bin/python3, and protoc's python output
  python3-grpcio python3-protobuf
  # snapshot names in timestamp_location zones: zferry reads the TZif files itself
  tzdata
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# Packages must not start services here: zfs-fuse's postinst would start a system daemon,
# and the platform tests start (and insist on owning) their own. Debian's policy-rc.d hook
# (exit 101 = "not allowed") does that; put one in place for the install if the machine
# has none, and remove it afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
