"""`bascule` under cProfile (bench/run.py --profile):

    python -m cProfile -o out.prof bench/profile_migrate.py migrate --source ... --target ...

The console entry point is bascule.cli:main and the package has no __main__; this file is it.
"""

import sys

from bascule.cli import main

if __name__ == "__main__":
    sys.exit(main())
