"""``aims demo``: the whole lifecycle, end to end, in a fresh temporary workspace.

Each step calls the same services the CLI uses; nothing here is special-cased.
The package holds the data (:mod:`aims.demo.data`), the team and its files
(:mod:`aims.demo.team`), the governance story (:mod:`aims.demo.story`), the
production phase (:mod:`aims.demo.production`) and the traffic it replays
(:mod:`aims.demo.traffic`).
"""

from aims.demo.story import run

__all__ = ["run"]
