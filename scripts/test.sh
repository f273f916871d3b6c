#!/usr/bin/env bash
# Runs every test in the solution (restoring NuGet packages first) and ends with one summary line:
# "N passed, N failed[, N skipped]". Tests read the MIT-BIH records from ../shared/data/mitdb
# (or HEARTTWIN_MITDB). Exit code is non-zero when anything fails or does not build.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "hearttwin: the .NET 10 SDK is required (dotnet not found on PATH)." >&2
  echo "0 passed, 1 failed"
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

dotnet restore HeartTwin.slnx 2>&1 | tail -n 3
dotnet test HeartTwin.slnx -c Release --no-restore 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Sum the per-assembly result lines: "Passed!  - Failed:  0, Passed:  330, Skipped:  0, Total:  330, ..."
read -r passed failed skipped < <(awk '
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$log")

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or the test host failed before any test could report.
  failed=1
fi

if [ "$skipped" -gt 0 ]; then
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
else
  echo "${passed} passed, ${failed} failed"
fi
exit "$rc"
