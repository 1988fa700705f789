# Sourced by the scripts/ensure-*.sh: one way to install Debian packages.
# apt_install TAG PKG... : apt-get update + install (no recommends, quiet, sudo when not root);
# prints "TAG: installing ..." first, and the tail of apt's output when it fails (returns 1).
apt_install() {
  local tag=$1; shift
  local sudo="" log rc=0
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "$tag: installing $*" >&2
  log=$(mktemp)
  { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  } >"$log" 2>&1 || rc=1
  if [ "$rc" -ne 0 ]; then
    tail -20 "$log" >&2
    echo "$tag: apt-get failed" >&2
  fi
  rm -f "$log"
  return "$rc"
}
