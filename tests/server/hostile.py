"""A workspace built to be attacked: one served model whose request carries every kind of string.

The model ``shop`` reads two numbers; its input contract also names a plain
text field (``name``), a personal-data field the log hashes (``email``, at
most 64 characters), the business key (``customer``, logged as ``key``) and an
untyped field (``extra``) that the contract lets through unchecked, so that
only the prediction log's own check stands between it and the writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aims.services.keys import ROLES
from tests.server.conftest import ACTOR, OWNERS, new_workspace

MODEL = "shop"
PROJECT = "default"


def shop_workspace(folder: Path) -> Any:
    """A workspace serving ``shop@1`` in production."""
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    from aims.core.contract import infer_contract, write_contract
    from aims.services import lifecycle, registry

    ws = new_workspace(folder / "ws")
    rng = np.random.default_rng(3)
    n = 200
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    frame = pl.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "name": [f"n{i}" for i in range(n)],
            "email": [f"p{i}@example.org" for i in range(n)],
            "customer": [f"c{i}" for i in range(n)],
            "extra": [f"e{i}" for i in range(n)],
            "y": (x1 > 0).astype(int),
        }
    )
    frame.write_parquet(folder / "shop.parquet")
    model = LogisticRegression().fit(frame.select("x1", "x2").to_pandas(), frame["y"].to_numpy())
    dump(model, folder / "shop.skops")
    contract = infer_contract(folder / "shop.parquet", name=MODEL, margin=0.9).restrict(
        ["x1", "x2", "name", "email", "customer", "extra"]
    )
    for col in contract.table().columns:
        if col.name in ("name", "email", "customer", "extra"):
            col.pattern = col.min_length = col.max_length = col.allowed_values = None
        if col.name in ("x1", "x2"):
            col.minimum = col.maximum = None
    contract.column("email").pii = "hash"
    contract.column("email").max_length = 64
    contract.column("customer").primary_key = True
    extra = contract.column("extra")
    extra.logical_type, extra.required = None, False
    write_contract(contract, folder / "shop.odcs.yaml")
    registry.register_dataset(ws, folder / "shop.parquet", "shop-data", actor=ACTOR)
    registry.register_model(
        ws,
        folder / "shop.skops",
        MODEL,
        actor=ACTOR,
        datasets=["shop-data@1"],
        owners=OWNERS,
        contract_path=folder / "shop.odcs.yaml",
    )
    lifecycle.promote(ws, f"{MODEL}@1", "production", actor=ACTOR)
    return ws


def api_keys(ws: Any) -> dict[str, str]:
    """One API key per role, all of project :data:`PROJECT`."""
    from aims.services import keys

    return {role: keys.create_key(ws, project=PROJECT, role=role, actor=ACTOR)[1] for role in ROLES}


def good_record(i: int = 0) -> dict[str, Any]:
    """A record the contract and the log accept."""
    return {
        "x1": 0.5,
        "x2": -0.25,
        "name": f"Ana {i}",
        "email": f"ana{i}@example.org",
        "customer": f"c-{i}",
        "extra": "ok",
    }
