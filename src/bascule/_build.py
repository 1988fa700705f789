"""The compiled build: which modules of the hot path may be compiled, and which are loaded.

The modules listed in ``COMPILED`` are ordinary, type-annotated Python files, the source of truth.
``make venv`` (``scripts/ensure-compiled.sh``, ``setup.py``) also compiles them with mypyc into
extension modules beside them (``rows.cpython-311-x86_64-linux-gnu.so`` next to ``rows.py``, and
their shared library ``bascule_hot__mypyc…so`` in ``src/``), which Python imports in their place:
the same functions, the same results, about a sixth fewer instructions per row
(``bench/callgrind_unit.py``). mypyc compiles only code that type-checks (mypy), and checks the
annotated types of arguments at run time; the classes of these modules are native classes (no
``__dict__``, not picklable): the values that cross processes (``plan.changeset``) stay pure.

The pure-Python file is loaded instead of its compiled module when

- ``BASCULE_COMPILED=0`` is set in the environment (the switch that turns compilation off at run
  time, without rebuilding);
- the compiled module is older than its source (a file edited since the build: it is used as it
  is, with a warning, until ``make venv`` compiles it again);
- there is no compiled module (no compiler, ``make venv COMPILE=0``, a plain ``pip install``).

``install()`` is called once, when ``bascule`` is imported (``bascule/__init__.py``).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import warnings

#: The modules of the hot path that the build compiles (the source's date converter, the
#: transform, the plan, the encoders).
#: Not ``plan.changeset`` (its values are pickled between processes), ``plan.compact`` nor
#: ``transform.clean`` (ftfy does its work; its functions take any value).
COMPILED = (
    "bascule.extract.convert",
    "bascule.transform.baskets",
    "bascule.transform.columns",
    "bascule.transform.context",
    "bascule.transform.fields",
    "bascule.transform.rows",
    "bascule.transform.rows_activity",
    "bascule.transform.rows_catalog",
    "bascule.transform.rows_people",
    "bascule.transform.textids",
    "bascule.plan.build",
    "bascule.plan.hashing",
    "bascule.plan.ids",
    "bascule.plan.unit",
    "bascule.load.encode",
)

#: The environment variable that turns the compiled modules off ("0").
SWITCH = "BASCULE_COMPILED"
#: The shared library that holds the code of every compiled module (mypyc's group, in the
#: directory above the package); each module's own extension file only points into it.
GROUP = "bascule_hot__mypyc"


def enabled() -> bool:
    """Whether compiled modules may be loaded (``BASCULE_COMPILED`` is not "0")."""
    return os.environ.get(SWITCH, "1").strip() != "0"


def _files(name: str, path) -> tuple[str | None, str | None]:
    """(the module's .py, its compiled module) in the package directories ``path``."""
    leaf = name.rpartition(".")[2]
    for entry in path or ():
        py = os.path.join(entry, leaf + ".py")
        if os.path.exists(py):
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                ext = os.path.join(entry, leaf + suffix)
                if os.path.exists(ext):
                    return py, ext
            return py, None
    return None, None


def _compiled_at(name: str, ext: str) -> float:
    """When module ``name``'s compiled code was made: its extension file, or the group's
    shared library (beside the top package) when that is newer (a build that changed only the
    code writes only the group)."""
    t = os.path.getmtime(ext)
    root = ext
    for _ in name.split("."):
        root = os.path.dirname(root)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        group = os.path.join(root, GROUP + suffix)
        if os.path.exists(group):
            return max(t, os.path.getmtime(group))
    return t


def built(name: str, path) -> bool:
    """The build made a compiled module of ``name`` that is not older than its source."""
    py, ext = _files(name, path)
    return ext is not None and py is not None and _compiled_at(name, ext) >= os.path.getmtime(py)


class _Pure:
    """A finder placed before Python's own: for a module of ``COMPILED``, the .py file when the
    compiled one must not be used (see the module docstring); otherwise Python's finder."""

    def find_spec(self, name, path, target=None):
        if name not in COMPILED:
            return None
        py, ext = _files(name, path)
        if py is None or ext is None:
            return None  # Python finds the .py itself
        if enabled() and _compiled_at(name, ext) >= os.path.getmtime(py):
            return None  # the compiled module
        if enabled():
            warnings.warn(f"{py} changed since it was compiled: the source is used "
                          "(make venv compiles it again)", stacklevel=2)
        return importlib.util.spec_from_file_location(name, py)


def install() -> None:
    """Put the finder first (once)."""
    if not any(isinstance(f, _Pure) for f in sys.meta_path):
        sys.meta_path.insert(0, _Pure())


def is_compiled(module) -> bool:
    """Whether this imported module is a compiled one (an extension module)."""
    f = getattr(module, "__file__", None) or ""
    return f.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def compiled_modules() -> list[str]:
    """The modules of ``COMPILED`` that this process imports compiled."""
    out = []
    for name in COMPILED:
        mod = importlib.import_module(name)
        if is_compiled(mod):
            out.append(name)
    return out
