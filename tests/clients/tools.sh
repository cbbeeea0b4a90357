#!/usr/bin/env bash
# Installs the outside clients the tests/clients suites run, at the versions pinned in
# deploy/versions.env, into .cache/tools of the checkout:
#   .cache/tools/bin     grpcurl, protoc-gen-go, protoc-gen-go-grpc (go install, Go module proxy)
#   .cache/tools/venv    grpcio-tools, georeport and aiosmtpd (pip, PyPI)
#   .cache/tools/py2     PyPI's `three` (Python 2 only), where a Python 2.7 exists; its path is
#                        in .cache/tools/py2/python
# and the modules of the Go client of tests/clients/goclient (Go's own module cache).
# Idempotent and quick when everything is there (a stamp per tool names its version), so every
# client test runs it first; `make test` runs it before ctest so a first install is not timed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/versions.env
source "$repo_root/deploy/versions.env"
tools=$repo_root/.cache/tools
mkdir -p "$tools/bin" "$tools/stamps"

# go_tool NAME PACKAGE VERSION: go install PACKAGE@VERSION into .cache/tools/bin.
go_tool() {
  local name=$1 pkg=$2 version=$3 stamp=$tools/stamps/$1
  if [[ -x $tools/bin/$name && $(cat "$stamp" 2>/dev/null) == "$version" ]]; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "tools: go is needed to install $name (Debian: apt-get install golang-go)" >&2
    exit 1
  fi
  echo "tools: go install $pkg@$version"
  GOBIN=$tools/bin GOFLAGS=-buildvcs=false go install "$pkg@$version"
  echo "$version" >"$stamp"
}

go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  "$PROTOC_GEN_GO_GRPC_VERSION"

# The Go client's modules (tests/clients/goclient/go.sum), so the test itself only builds.
(cd "$repo_root/tests/clients/goclient" && go mod download)

python_want="grpcio-tools==$GRPCIO_TOOLS_VERSION georeport==$GEOREPORT_VERSION aiosmtpd==$AIOSMTPD_VERSION"
if [[ ! -x $tools/venv/bin/python || $(cat "$tools/stamps/venv" 2>/dev/null) != "$python_want" ]]; then
  echo "tools: pip install $python_want into .cache/tools/venv"
  rm -rf "$tools/venv"
  python3 -m venv "$tools/venv"
  # shellcheck disable=SC2086 # the list is words on purpose
  "$tools/venv/bin/python" -m pip install -q --disable-pip-version-check $python_want
  echo "$python_want" >"$tools/stamps/venv"
fi

# `three` needs Python 2: Debian 12 has none, but a machine may (pyenv, /usr/bin/python2.7).
python2=""
for candidate in /usr/bin/python2.7 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python; do
  if [[ -x $candidate ]] && "$candidate" -c 'import sys; sys.exit(sys.version_info[0] != 2)' 2>/dev/null; then
    python2=$candidate
    break
  fi
done
if [[ -n $python2 && $(cat "$tools/stamps/py2" 2>/dev/null) != "three==$THREE_VERSION $python2" ]]; then
  echo "tools: pip install three==$THREE_VERSION for $python2 into .cache/tools/py2"
  rm -rf "$tools/py2"
  "$python2" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$tools/py2" "three==$THREE_VERSION" 2>&1 | grep -v DEPRECATION || true
  [[ -d $tools/py2/three ]] || { echo "tools: installing three failed" >&2; exit 1; }
  echo "$python2" >"$tools/py2/python"
  echo "three==$THREE_VERSION $python2" >"$tools/stamps/py2"
fi
