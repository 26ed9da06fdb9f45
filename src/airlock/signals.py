"""Signals of the Flask extension, on blinker as Flask's own are; each is sent with the app as
its sender, from the request that made the decision:

- ``file_stored``: ``file`` (the stored File's record), ``user`` (its owner's name);
- ``upload_rejected``: ``name`` (the sanitised client name), ``error`` (the ``AirlockError``
  it was refused with), ``user``.

Every upload sends one, through the HTTP API (multipart, PUT, tus, direct) and through
``UploadSet``. A receiver that raises is logged; the upload's outcome stands.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
file_stored = _signals.signal("airlock.file-stored")
upload_rejected = _signals.signal("airlock.upload-rejected")
