"""``aims demo``: the whole lifecycle, end to end, in a fresh temporary workspace.

Each step calls the same services the CLI uses; nothing here is special-cased.
The package holds the data (:mod:`aims.demo.data`), the team and its files
(:mod:`aims.demo.team`), the governance story (:mod:`aims.demo.story`), the
production phase (:mod:`aims.demo.production`), the traffic it replays
(:mod:`aims.demo.traffic`), the LLM application chapter (:mod:`aims.demo.llm`,
alone with :func:`run_llm_demo`) and the agent chapter (:mod:`aims.demo.agents`,
alone with :func:`run_agents`).
"""

from aims.demo.agents_alone import run_agents
from aims.demo.llm import run_llm_demo
from aims.demo.story import run

__all__ = ["run", "run_agents", "run_llm_demo"]
