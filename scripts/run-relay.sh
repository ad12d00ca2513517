#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: install dependencies, build the relay (release), and run it with a development
# certificate. Extra arguments go to lanparty-relay (e.g. --listen 0.0.0.0:4433 --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target lanparty-relay
mkdir -p run
exec build/release/apps/relay/lanparty-relay --dev-cert-der-out run/relay-cert.der "$@"
