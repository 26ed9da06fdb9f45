"""Airlock's app for granian (bench/run_servers.py): ``granian --interface wsgi granian_app:app``.

granian runs from a venv of its own (never Airlock's ``.venv``, never pyproject); this module
adds Airlock's venv (its site-packages, with the editable install's ``.pth``) to ``sys.path``
and builds the same app ``airlock serve`` builds in each worker:
``create_app(Settings.load(os.environ))``, settings from ``AIRLOCK_*``.

``PROMETHEUS_MULTIPROC_DIR`` must name an empty directory before this is imported (the
prometheus client picks its value store at import; see ``airlock.metricsdir``):
run_servers.py sets it. What ``airlock serve`` adds around the app under gunicorn is not here:
its worker (header deadline, JSON for gunicorn's own refusals), the malloc arena cap (set
``MALLOC_ARENA_MAX=2`` in the environment instead) and marking dead workers' metrics.
"""

import logging
import os
import site
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SITE = os.environ.get("AIRLOCK_BENCH_SITE") or os.path.join(
    _ROOT, ".venv", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")

if not os.path.isdir(_SITE):
    raise RuntimeError(f"granian_app: Airlock's site-packages {_SITE} does not exist "
                       "(the granian venv must use the same Python version as .venv)")
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    raise RuntimeError("granian_app: set PROMETHEUS_MULTIPROC_DIR to an empty directory first")
site.addsitedir(_SITE)

from airlock import Settings, create_app  # noqa: E402

_settings = Settings.load(os.environ)
logging.basicConfig(level=_settings.log_level.upper(), stream=sys.stderr, format="%(message)s")
logging.getLogger("alembic").setLevel(logging.WARNING)

app = create_app(_settings)
