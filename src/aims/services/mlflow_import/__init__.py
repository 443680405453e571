"""Importing an MLflow model registry into aims: ``aims import mlflow``.

Three readers, one record shape, one importer:

- :mod:`~aims.services.mlflow_import.rest`: a tracking server through its REST API;
- :mod:`~aims.services.mlflow_import.mlflow_db`: MLflow's database (``mlflow.db``);
- :mod:`~aims.services.mlflow_import.mlruns`: a legacy ``mlruns`` folder;
- :mod:`~aims.services.mlflow_import.records`: what every reader returns;
- :mod:`~aims.services.mlflow_import.importer`: the writes, in one transaction.

None of them needs the ``mlflow`` package. MLflow aliases and stages arrive as
promotion requests (:mod:`aims.services.promotion_requests`), never as stages.
"""

from __future__ import annotations

from aims.services.mlflow_import.importer import (
    ALIAS_STAGES,
    STAGE_STAGES,
    import_mlflow,
)
from aims.services.mlflow_import.records import MlflowSource
from aims.services.mlflow_import.sources import open_source

__all__ = ["ALIAS_STAGES", "STAGE_STAGES", "MlflowSource", "import_mlflow", "open_source"]
