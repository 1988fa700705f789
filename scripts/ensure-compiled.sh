#!/usr/bin/env bash
# The compiled build of the hot path (src/bascule/_build.py lists the modules): mypyc compiles
# them into extension modules beside their .py files, which stay the source of truth.
# Optional: when anything here fails, bascule runs its pure-Python modules (a warning says so).
# Needs gcc and the Python headers (installed through apt only when missing) and mypy, which
# brings mypyc (pip, into the venv). COMPILE=0 removes the compiled modules instead.
# Usage: scripts/ensure-compiled.sh PYTHON [COMPILE]  (the venv's python; COMPILE 1 or 0).
set -uo pipefail
PY=${1:-.venv/bin/python}
COMPILE=${2:-1}
cd "$(dirname "$0")/.."
. scripts/apt-install.sh

if [[ "$COMPILE" == "0" ]]; then
  find src -name '*.so' -delete  # the build's output only
  rm -rf build
  echo "ensure-compiled: COMPILE=0, the pure-Python modules are used" >&2
  exit 0
fi

need_apt=()
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
"$PY" -c "import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')) else 1)" \
  || need_apt+=(python3-dev)
if ((${#need_apt[@]})) && ! apt_install ensure-compiled "${need_apt[@]}"; then
  echo "ensure-compiled: no C compiler; the pure-Python modules are used" >&2
  exit 0
fi
"$PY" -c "import mypyc" >/dev/null 2>&1 || "$PY" -m pip install -q 'mypy>=1.11,<3' >&2 || {
  echo "ensure-compiled: pip install mypy failed; the pure-Python modules are used" >&2
  exit 0
}
# a build that finds the C code unchanged (a docstring edited) writes nothing: the outputs are
# stamped, so that they are not taken for older than their sources (bascule._build.built)
if "$PY" setup.py -q build_ext --inplace -j 2 >&2; then
  find src -name '*.so' -exec touch {} +
else
  echo "ensure-compiled: the build failed; the pure-Python modules are used" >&2
fi
"$PY" -c "import bascule._build as b; n = len(b.compiled_modules()); print(f'ensure-compiled: {n} of {len(b.COMPILED)} modules compiled', file=__import__('sys').stderr)"
exit 0
