"""``airlock upload``: a tus 1.0.0 client built on the standard library alone.

Modules, one concept each: ``transport`` (HTTP connections, one per thread), ``tus`` (the
protocol's requests and what their answers mean), ``state`` (fingerprints and the resume file),
``upload`` (one file, start to finish: resume, retries, backoff), ``progress`` (the bars on
stderr), ``runner`` (many files, threads, exit code) and ``command`` (the click command).

Importing this package imports nothing else, so registering the command keeps ``airlock serve``
start-up as it was.
"""
