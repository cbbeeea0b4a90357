# Sourced by the dependency scripts (deploy/local/deps.sh, deploy/images/deps.sh).
# apt_install_missing LABEL PACKAGE...: installs, with apt, the Debian packages that are not
# installed ("deinstall ok config-files" and unknown packages count as missing), through sudo
# when not root; prints what it installs, prefixed by LABEL. Does nothing, and runs no
# `apt-get update` (the slow, network-bound part), when everything is there.
apt_install_missing() {
  local label=$1 pkg status
  shift
  local missing=()
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]} > 0)) || return 0
  echo "$label: installing Debian packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$label: need root (or sudo) to install: ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}
