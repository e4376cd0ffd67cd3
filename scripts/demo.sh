#!/usr/bin/env bash
# The Quick start's main job: measure the bundled sample delivery.
set -uo pipefail
out=${1:-runs/demo}
bin=.venv/bin
mkdir -p "$out"
"$bin/verifier" origin fixtures/sample-delivery --json "$out/origin.json"
status=$?
echo "origin JSON: $out/origin.json"
exit $status
