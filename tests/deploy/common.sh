# shellcheck shell=bash
# Shared by the deploy tests (make test-deploy): a private run directory whose processes die
# with the test (pdeathsig), are stopped at the end and whose logs are printed on failure, and
# the Python environment with the clients the tests use as real users would.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"
# shellcheck source=deploy/kafka/cluster.sh
source "$repo_root/deploy/kafka/cluster.sh"
export LAPOR_BUILD_DIR=${LAPOR_BUILD_DIR:-$repo_root/build}
export LAPOR_CONFIG_DIR=${LAPOR_CONFIG_DIR:-$repo_root/deploy/config}
export LAPOR_PDEATHSIG=1
cli=$LAPOR_BUILD_DIR/tools/lapor-cli

# deploy_test_init NAME: run_dir, and an EXIT trap that stops everything started in it.
deploy_test_init() {
  run_dir=$(mktemp -d "/tmp/lapor-$1.XXXXXX")
  export LAPOR_TEST_RUN_DIR=$run_dir
  trap _deploy_test_finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  echo "$1: run directory $run_dir"
  bash "$repo_root/deploy/images/deps.sh"
}

# The EXIT trap; a test with its own cleanup calls it with the exit status.
_deploy_test_finish() {
  local status=${1:-$?}
  trap - EXIT INT TERM
  lapor_stop_all "$run_dir" >/dev/null 2>&1 || true
  if ((status == 0)); then
    rm -rf "$run_dir"
  else
    lapor_dump_logs "$run_dir" || true
    echo "FAILED (exit $status); run directory kept: $run_dir"
  fi
  exit "$status"
}

# deploy_python: prints the Python of a virtual environment in .cache with the packages of
# deploy/kafka/requirements.txt and deploy/compose/requirements.txt (from PyPI); its bin/
# also has podman-compose.
deploy_python() {
  local venv=$repo_root/.cache/deploy-venv stamp
  local -a reqs=("$repo_root/deploy/kafka/requirements.txt" "$repo_root/deploy/compose/requirements.txt")
  stamp=$(cat "${reqs[@]}" | sha256sum | cut -c1-16)
  if [[ ! -f $venv/.stamp-$stamp ]]; then
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install -q -r "${reqs[0]}" -r "${reqs[1]}" >&2 || return 1
    touch "$venv/.stamp-$stamp"
  fi
  printf '%s\n' "$venv/bin/python"
}

fail() {
  echo "FAIL $*" >&2
  exit 1
}
