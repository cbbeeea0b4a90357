#!/usr/bin/env bash
# Installs what building and running the OCI images and the deploy tests need, from Debian's
# packages: podman, buildah and runc for images and containers, binutils (strip), dash, CA
# certificates and tzdata for the images' contents, openssl and python3-venv for the tests.
# podman-compose comes from PyPI (deploy/compose/requirements.txt): Debian 12's is too old.
# Idempotent and quick when everything is present; `make images` and the deploy tests run it.
set -euo pipefail

packages=(podman buildah runc binutils dash ca-certificates tzdata openssl python3-venv)
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  echo "images deps: installing Debian packages: ${missing[*]}"
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || {
      echo "images deps: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
