"""How the store writes a table: Parquet bytes, zstd-compressed (docs/pipeline.md, "Store")."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["parquet_bytes"]


def parquet_bytes(df: pd.DataFrame, *, index=False) -> bytes:
    """*df* as the bytes of a Parquet file (zstd); *index* as ``pyarrow.Table.from_pandas``'s
    ``preserve_index`` (None: a RangeIndex as metadata, any other index as columns)."""
    table = pa.Table.from_pandas(df, preserve_index=index)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()
