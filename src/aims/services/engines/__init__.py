"""Profiles and drift past one machine: the same plan on the local process, Dask or Spark.

:mod:`.sources` splits files, folders and URLs into parts; :mod:`.tasks`
profiles one part on a layout plan; :mod:`.on_dask` and :mod:`.on_spark` run
the tasks on a cluster; :mod:`.profiling` ties them together for
``aims profile`` and ``aims drift``; :mod:`.profile_files` reads and writes
profile files. Dask and Spark are imported only here, and only when used
(extras ``dask`` and ``spark``).
"""
