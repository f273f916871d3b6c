#!/usr/bin/env bash
# Runs, for every host under src/Hosts, the `dotnet publish` that deploy/docker/Dockerfile runs, into out/publish/<host>,
# and checks each output has its entry dll (and, for the hosts that need them, the models and the policy).
# CI runs it because no Docker engine is available to build the images themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/publish}"
mkdir -p "$out"
failed=0
for csproj in src/Hosts/*/*.csproj; do
  host=$(basename "$(dirname "$csproj")")
  grep -q 'Sdk="Microsoft.NET.Sdk.Web"' "$csproj" || continue   # HeartTwin.ServiceHost is a library, not an image
  if ! dotnet publish "$csproj" -c Release -o "$out/$host" -v q -nologo > "$out.$host.log" 2>&1; then
    echo "publish: $host FAILED (see $out.$host.log)" >&2; tail -n 20 "$out.$host.log" >&2; failed=1; continue
  fi
  [ -f "$out/$host/$host.dll" ] || { echo "publish: $host has no $host.dll" >&2; failed=1; }
  case "$host" in
    HeartTwin.Inference.Host|HeartTwin.Host) ls "$out/$host"/models/*.onnx > /dev/null 2>&1 || { echo "publish: $host has no models/*.onnx" >&2; failed=1; } ;;
  esac
  case "$host" in
    HeartTwin.Policy.Host|HeartTwin.Host) [ -f "$out/$host/policy/default.yaml" ] || { echo "publish: $host has no policy/default.yaml" >&2; failed=1; } ;;
  esac
  rm -f "$out.$host.log"
  echo "publish: $host ok"
done
exit $failed
