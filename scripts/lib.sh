# shellcheck shell=bash
# Shared by scripts/run, scripts/test and scripts/docs: strict mode, failure reporting,
# the repository root and the Debian packages of scripts/packages.txt.
# Source it; do not run it:  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set -Eeuo pipefail

# The repository root, whatever the caller's working directory.
GARAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GARAGE_SCRIPT="${0##*/}"
GARAGE_STEP="starting"

# step DESCRIPTION: announce a step; a failure from here on names it.
step() {
    GARAGE_STEP="$*"
    printf '\n==> %s\n' "$*"
}

# die MESSAGE: print MESSAGE to stderr and exit 1.
die() {
    printf '%s: error: %s\n' "$GARAGE_SCRIPT" "$*" >&2
    exit 1
}

# Report the first unhandled failure of the main shell (not of a $(...) subshell: the
# assignment that used it fails next and is reported with the same step).
_garage_on_error() {
    local rc=$1 line=$2 cmd=$3
    if [[ $BASH_SUBSHELL -eq 0 && -z ${_garage_error_reported:-} ]]; then
        _garage_error_reported=1
        printf '%s: error: step "%s" failed (exit %s) at line %s: %s\n' \
            "$GARAGE_SCRIPT" "$GARAGE_STEP" "$rc" "$line" "$cmd" >&2
    fi
}
trap '_garage_on_error $? $LINENO "$BASH_COMMAND"' ERR

# required_packages: the package names of scripts/packages.txt, one per line.
required_packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$GARAGE_ROOT/scripts/packages.txt"
}

# missing_packages: the required packages that dpkg does not list as installed.
missing_packages() {
    local -a pkgs
    mapfile -t pkgs < <(required_packages)
    local installed pkg
    # One query for all; dpkg-query fails (and says nothing on stdout) for unknown names.
    installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)"
    for pkg in "${pkgs[@]}"; do
        grep -qxF "$pkg installed" <<<"$installed" || printf '%s\n' "$pkg"
    done
}

# ensure_packages: install the packages of scripts/packages.txt that are missing, with apt-get
# (as root, or through sudo). Set GARAGE_SKIP_PACKAGES=1 to skip this on a machine prepared by hand.
ensure_packages() {
    GARAGE_STEP="checking Debian packages"
    if [[ ${GARAGE_SKIP_PACKAGES:-0} == 1 ]]; then
        echo "Skipping the package check (GARAGE_SKIP_PACKAGES=1)."
        return 0
    fi
    command -v dpkg-query >/dev/null || die "dpkg-query not found: these scripts expect Debian 12 (bookworm); install the packages of scripts/packages.txt by hand and set GARAGE_SKIP_PACKAGES=1"

    local missing
    missing="$(missing_packages)"
    if [[ -z $missing ]]; then
        echo "All $(required_packages | wc -l) packages of scripts/packages.txt are installed."
        return 0
    fi
    # shellcheck disable=SC2206 # package names have no spaces or globs
    local -a pkgs=($missing)

    local -a as_root=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null ||
            die "missing packages: ${pkgs[*]}. Not root and sudo is not available: run as root: apt-get install ${pkgs[*]}"
        as_root=(sudo)
    fi

    step "installing ${#pkgs[@]} missing package(s): ${pkgs[*]}"
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${pkgs[@]}"

    missing="$(missing_packages)"
    [[ -z $missing ]] || die "still missing after apt-get install: ${missing//$'\n'/ }"
}
