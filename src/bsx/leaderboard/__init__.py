"""Leaderboards: a TOML grid of evaluate runs, a shared results store, ranking and CI checks.

config (grid -> cells with content hashes), store (SQLite), executors (local, ray), run
(run_leaderboard), show (ranked tables, heatmap), check (regressions against a baseline).
"""
