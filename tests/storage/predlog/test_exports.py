from __future__ import annotations

import aims.storage.predlog as predlog


def test_public_names_are_unique_and_importable() -> None:
    assert len(set(predlog.__all__)) == len(predlog.__all__)
    assert all(getattr(predlog, name, None) is not None for name in predlog.__all__)
    public = {
        n
        for n, v in vars(predlog).items()
        if not n.startswith("_") and not isinstance(v, type(predlog))
    }
    assert public == set(predlog.__all__)
