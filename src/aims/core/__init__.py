"""Pure, I/O-light building blocks: profiles, drift tests, contracts, metrics, policy, audit chain."""
