#!/usr/bin/env bash
# Installs what building and running the OCI images and the deploy tests need, from Debian's
# packages: podman, buildah and runc for images and containers, binutils (strip), dash, CA
# certificates and tzdata for the images' contents, openssl and python3-venv for the tests.
# podman-compose comes from PyPI (deploy/compose/requirements.txt): Debian 12's is too old.
# Idempotent and quick when everything is present; `make images` and the deploy tests run it.
set -euo pipefail

# shellcheck source=deploy/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/../apt.sh"

packages=(podman buildah runc binutils dash ca-certificates tzdata openssl python3-venv)
apt_install_missing "images deps" "${packages[@]}"
