#!/usr/bin/env bash
# Installs helm for the chart check: built from the Go module proxy (helm.sh/helm/v3) into
# .cache/tools, so nothing is downloaded from elsewhere. Prints the path of the helm binary.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/versions.env
source "$repo_root/deploy/versions.env"
tools=$repo_root/.cache/tools
if [[ ! -x $tools/helm-$HELM_VERSION/helm ]]; then
  command -v go >/dev/null 2>&1 || { echo "helm: needs Go (golang) to build helm" >&2; exit 1; }
  echo "helm: building helm $HELM_VERSION from the Go module proxy (once)" >&2
  mkdir -p "$tools"
  tmp=$(mktemp -d "$tools/.helm.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  rm -rf "$tools/helm-$HELM_VERSION"
  mv "$tmp" "$tools/helm-$HELM_VERSION"
fi
printf '%s\n' "$tools/helm-$HELM_VERSION/helm"
