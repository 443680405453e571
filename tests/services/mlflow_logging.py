"""Logs and registers scikit-learn models through the MLflow client, as a team would.

Run as a script (``python mlflow_logging.py TRACKING_URI OUT.json``) so that
MLflow's process-wide state (tracking URI, active run) never touches the test
process. It writes what it logged to ``OUT.json``, for the tests to compare
the import with.

Registered:

- ``cancer`` v1 (C=1.0) and v2 (C=0.1), skops format, trained on the dataset
  ``cancer train`` and evaluated on ``cancer holdout``; alias ``champion`` on
  v1, stage ``Staging`` on v2;
- ``cancer-pickle`` v1, cloudpickle format (loading it runs code).

Metrics are logged after the model: MLflow's file store otherwise writes them
twice, which ``mlflow migrate-filestore`` then refuses.
"""

from __future__ import annotations

import json
import sys
import warnings


def main(uri: str, out: str) -> None:
    import mlflow
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    warnings.simplefilter("ignore")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("cancer")
    frame = load_breast_cancer(as_frame=True).frame
    x, y = frame.drop(columns="target"), frame["target"]
    train = mlflow.data.from_pandas(frame, name="cancer train", targets="target")
    holdout = mlflow.data.from_pandas(frame.tail(100), name="cancer holdout", targets="target")
    logged = []
    for name, c, fmt in (
        ("cancer", 1.0, "skops"),
        ("cancer", 0.1, "skops"),
        ("cancer-pickle", 1.0, "cloudpickle"),
    ):
        with mlflow.start_run() as run:
            if name == "cancer":
                mlflow.log_input(train, context="training")
                mlflow.log_input(holdout, context="evaluation")
            mlflow.set_tag("team", "oncology")
            model = LogisticRegression(C=c, max_iter=300).fit(x, y)
            mlflow.log_param("C", c)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format=fmt,
                registered_model_name=name,
                pip_requirements=["scikit-learn"],
            )
            mlflow.log_metric("accuracy", float(model.score(x, y)))
            for step, loss in enumerate((0.9, 0.5, 0.2)):
                mlflow.log_metric("loss", loss, step=step)
            logged.append(
                {
                    "model": name,
                    "version": int(info.registered_model_version),
                    "run_id": run.info.run_id,
                    "params": {"C": str(c)},
                    "accuracy": float(model.score(x, y)),
                    "model_uri": info.model_uri,
                }
            )
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("cancer", "champion", "1")
    client.transition_model_version_stage("cancer", "2", "Staging")
    for item in logged:
        item["artifact_uri"] = client.get_model_version_download_uri(
            item["model"], str(item["version"])
        )
    with open(out, "w") as f:
        json.dump(logged, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
