"""The optional compiled build of the hot path (the project's metadata is in pyproject.toml).

The modules listed in ``src/bascule/_build.py`` (``COMPILED``) are compiled with mypyc into
extension modules beside their .py files, which stay the source of truth. Nothing is compiled,
and bascule runs as pure Python, when mypy (which brings mypyc) is not installed, when
``BASCULE_COMPILE=0`` is set, or when type-checking or the C compiler fails (a warning says so).
``make venv`` installs mypy and builds them (``scripts/ensure-compiled.sh``:
``python setup.py build_ext --inplace``).
"""

import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
COMPILED = runpy.run_path(os.path.join(HERE, "src", "bascule", "_build.py"))["COMPILED"]
#: mypy's options for the compiled modules (what they import is read, not compiled)
MYPY_FLAGS = ["--ignore-missing-imports", "--follow-imports=silent",
              "--disable-error-code=func-returns-value"]


class OptionalBuildExt(build_ext):
    """A module that does not compile stays pure Python (warned), never a failed install."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - no compiler, no headers: pure Python
            print(f"bascule: not compiled ({e}); the pure-Python modules are used",
                  file=sys.stderr)


def extensions():
    if os.environ.get("BASCULE_COMPILE", "1").strip() == "0":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    paths = [os.path.join("src", *name.split(".")) + ".py" for name in COMPILED]
    try:
        return mypycify([*MYPY_FLAGS, *paths], opt_level="3", multi_file=True,
                        group_name="bascule_hot")
    except BaseException as e:  # noqa: BLE001 - a type error (mypyc exits): pure Python
        print(f"bascule: not compiled (mypyc: {e}); the pure-Python modules are used",
              file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
