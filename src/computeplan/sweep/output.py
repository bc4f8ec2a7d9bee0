"""Streaming a sweep to disk, resumably.

While a sweep runs, each block is written to a staging folder ``TARGET.partial/`` beside the
output (TARGET is the rows file, else the summary file): ``block-NNNNNN.parquet`` (or ``.csv``)
with its rows and ``block-NNNNNN.npz`` with its partial reductions, each written to a temporary
name and renamed, so a block is either wholly there or absent. ``manifest.json`` holds a hash of
the spec and options; a restart with ``resume`` skips the blocks already there. When every block
is there, the rows are joined in block order into TARGET (streamed, one block at a time) and the
staging folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import write_atomic_with
from ..vocabulary import option

MANIFEST_VERSION = 1


def fmt_of(path: Path | None) -> str | None:
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise InputError(f"{option('out')} {str(path)!r}: the rows file must end in .parquet or .csv")


def sweep_hash(fingerprint: dict) -> str:
    text = json.dumps(fingerprint, sort_keys=True, default=str, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Staging:
    """The staging folder of one sweep (see the module docstring)."""

    def __init__(self, target: Path, digest: str, blocks: int, rows_format: str | None,
                 reductions: bool):
        self.target = target
        self.dir = target.with_name(target.name + ".partial")
        self.digest = digest
        self.blocks = blocks
        self.rows_format = rows_format
        self.reductions = reductions

    # -- opening
    def open(self, *, resume: bool, overwrite: bool, outputs: list[Path]) -> set[int]:
        """Prepare the folder; return the blocks already done (a resume)."""
        existing = [p for p in outputs if p.exists()]
        if self.dir.exists() and not self.dir.is_dir():
            raise InputError(f"{str(self.dir)!r} exists and is not a folder; remove it")
        if overwrite:
            if self.dir.exists():
                shutil.rmtree(self.dir)
        elif self.dir.exists():
            if not resume:
                raise InputError(f"{str(self.target)!r}: an interrupted sweep left "
                                 f"{str(self.dir)!r}; pass {option('resume')} to continue it or "
                                 f"{option('overwrite')} to start again")
            manifest = self._manifest()
            if manifest.get("hash") != self.digest:
                raise InputError(f"{str(self.dir)!r} is from a sweep with another spec or other "
                                 "options; rerun with those, or pass "
                                 f"{option('overwrite')} to start again")
        elif existing:
            what = " and ".join(repr(str(p)) for p in existing)
            if resume:
                raise InputError(f"{what} already complete: nothing to resume; pass "
                                 f"{option('overwrite')} to run the sweep again")
            raise InputError(f"{what} already exists; pass {option('overwrite')} to replace it "
                             f"(or {option('resume')} to continue an interrupted sweep)")
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic_with(self.dir / "manifest.json", lambda p: p.write_text(json.dumps(
            {"version": MANIFEST_VERSION, "hash": self.digest, "blocks": self.blocks,
             "rows": self.rows_format}, indent=2) + "\n"))
        return {i for i in range(self.blocks) if self.done(i)}

    def _manifest(self) -> dict:
        try:
            return json.loads((self.dir / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}

    # -- blocks
    def rows_path(self, i: int) -> Path:
        return self.dir / f"block-{i:06d}.{self.rows_format}"

    def partial_path(self, i: int) -> Path:
        return self.dir / f"block-{i:06d}.npz"

    def done(self, i: int) -> bool:
        return ((self.rows_format is None or self.rows_path(i).exists())
                and (not self.reductions or self.partial_path(i).exists()))

    def write(self, result, schema) -> None:
        """Write one block (rows first, then the partial reductions that mark it done)."""
        if self.rows_format is not None:
            table = result.table.cast(schema)
            write_atomic_with(self.rows_path(result.index),
                              lambda p: write_rows(table, p, self.rows_format))
        if self.reductions:
            def save(p):
                with open(p, "wb") as f:
                    np.savez(f, **{k.replace("/", "|"): v for k, v in result.partial.items()})
            write_atomic_with(self.partial_path(result.index), save)

    def load_partial(self, i: int) -> dict:
        with np.load(self.partial_path(i), allow_pickle=False) as data:
            return {k.replace("|", "/"): data[k] for k in data.files}

    # -- finishing
    def assemble(self, out: Path | None, schema) -> None:
        """Join the blocks' rows into ``out``, one block at a time."""
        if out is None:
            return
        if self.rows_format == "parquet":
            import pyarrow.parquet as pq

            def join(p):
                with pq.ParquetWriter(p, schema, use_dictionary=_strings(schema)) as writer:
                    for i in range(self.blocks):
                        writer.write_table(pq.read_table(self.rows_path(i)))
        else:
            def join(p):
                with open(p, "wb") as f:
                    write_rows(schema.empty_table(), f, "csv", header=True)
                    for i in range(self.blocks):
                        with open(self.rows_path(i), "rb") as part:
                            shutil.copyfileobj(part, f)
        write_atomic_with(out, join)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _strings(schema) -> list[str]:
    """Dictionary-encode the string columns only (numbers rarely repeat; trying costs 6x)."""
    import pyarrow as pa

    return [f.name for f in schema if f.type == pa.string()]


def write_rows(table, dest, fmt: str, *, header: bool = False) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, dest, use_dictionary=_strings(table.schema))
    else:
        from pyarrow import csv

        csv.write_csv(table, dest, csv.WriteOptions(include_header=header))
