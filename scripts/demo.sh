#!/usr/bin/env bash
# The Quick start's main job: measure the bundled sample delivery against its task book and write
# the evidence report. Usage: scripts/demo.sh [RUN_DIR]   (default runs/demo; replaced if present)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo}
bin=.venv/bin
spec=fixtures/sample-delivery/acceptance.yaml

rm -rf "$out"
"$bin/verifier" run "$spec" --out "$out"
status=$?
if [ -f "$out/results.json" ]; then
  "$bin/verifier" report "$out" --format html --lang zh -o "$out/report.zh.html" >/dev/null || status=3
  "$bin/verifier" report "$out" --format html --lang en -o "$out/report.en.html" >/dev/null || status=3
  echo "HTML report: $(realpath "$out/report.zh.html") (English: $(realpath "$out/report.en.html"))"
fi
exit $status
