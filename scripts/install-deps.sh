#!/usr/bin/env bash
# Installs the Debian packages ltr needs to build and test, if any is missing,
# and the extra PACKAGES given (scripts/sanitized-build.sh passes clang's).
#
#   bash scripts/install-deps.sh [PACKAGE...]
set -euo pipefail
packages=(build-essential cmake pkg-config libeigen3-dev libceres-dev libhdf5-dev libmatio-dev
          libboost-program-options-dev catch2 python3-h5py python3-numpy python3-scipy
          python3-dev pybind11-dev python3-pytest
          libopenmpi-dev openmpi-bin gnuplot-nox "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
