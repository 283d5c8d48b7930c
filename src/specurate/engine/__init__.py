"""Data-parallel analysis of data sets larger than one process: shards, read by Dask workers or
in this process, reduced as mergeable moments (:mod:`specurate.spectrum.moments`).

Dask (``distributed``) is optional: ``pip install 'specurate[dask]'``; the local engine needs
nothing beyond the core.
"""

from specurate.engine.cluster import ENGINES, Engine, open_engine
from specurate.engine.shards import Shard, ShardedSource, list_shards, read_shard, shard_groups
from specurate.engine.spectrum import shard_moments, sharded_spectrum

__all__ = [
    "ENGINES",
    "Engine",
    "Shard",
    "ShardedSource",
    "list_shards",
    "open_engine",
    "read_shard",
    "shard_groups",
    "shard_moments",
    "sharded_spectrum",
]
