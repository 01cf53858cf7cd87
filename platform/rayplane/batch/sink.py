"""A Ray Data sink that writes each block as one Parquet file under a staging location.

Not Ray's ``write_parquet``: that writes through ``pyarrow.dataset.write_dataset`` with threads, which may
reorder rows within a file. Here a block is written as it arrives, and files are named by the write task's
index and the block's place in it, which follow the input's order when the dataset preserves order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockAccessor
from ray.data.datasource import Datasink

from rayplane.storage import Location


class StagedParquet(Datasink[None]):
    def __init__(self, staging: Location) -> None:
        self.staging = staging

    def write(self, blocks: Iterable[Any], ctx: Any) -> None:
        for index, block in enumerate(blocks):
            table = BlockAccessor.for_block(block).to_arrow()
            if table.num_rows:
                buffer = pa.BufferOutputStream()
                pq.write_table(table, buffer)
                (self.staging / f"{ctx.task_idx:06d}-{index:06d}.parquet").write_bytes(buffer.getvalue().to_pybytes())
