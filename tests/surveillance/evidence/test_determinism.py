"""Exporting the same case twice gives identical data files and manifest entries."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from surveillance.evidence.container import ZIP_EPOCH
from surveillance.evidence.keys import load_private_key
from surveillance.evidence.pack import CaseEvidence, build_pack


def _export(world: tuple[Any, Any], case: CaseEvidence, keys: Any, out: Path, when: int) -> dict:
    settings, _ = world
    build_pack(
        settings,
        [case],
        out,
        private_key=load_private_key(keys.private_key),
        creator="reviewer",
        scope={"case_id": 7},
        created_at=dt.datetime(2026, 4, 1, when, tzinfo=dt.UTC),
    )
    with zipfile.ZipFile(out) as archive:
        return {i.filename: archive.read(i.filename) for i in archive.infolist()}


def test_two_exports_give_identical_data_files(
    market: tuple[Any, Any], keypair: Any, case_factory: Callable[..., CaseEvidence], tmp_path: Path
) -> None:
    case = case_factory(market[1])
    first = _export(market, case, keypair, tmp_path / "a.zip", 9)
    second = _export(market, case, keypair, tmp_path / "b.zip", 17)
    data = sorted(n for n in first if n.startswith("data/"))
    assert data and data == sorted(n for n in second if n.startswith("data/"))
    assert all(first[n] == second[n] for n in data)


def test_two_exports_give_identical_manifest_entries_for_the_data(
    market: tuple[Any, Any], keypair: Any, case_factory: Callable[..., CaseEvidence], tmp_path: Path
) -> None:
    case = case_factory(market[1])
    first = json.loads(_export(market, case, keypair, tmp_path / "a.zip", 9)["manifest.json"])
    second = json.loads(_export(market, case, keypair, tmp_path / "b.zip", 17)["manifest.json"])
    assert first["created_at"] != second["created_at"]
    unchanged = [e for e in first["files"] if e["path"] != "report.html"]
    assert unchanged == [e for e in second["files"] if e["path"] != "report.html"]


def test_zip_members_have_a_fixed_order_and_timestamp(signed_pack: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(signed_pack[0]) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names[-2:] == ["manifest.json", "manifest.sig"]
    assert names[:-2] == sorted(names[:-2])
    assert {i.date_time for i in infos} == {ZIP_EPOCH}


def test_csv_and_parquet_hold_the_same_rows(signed_pack: tuple[Path, Path]) -> None:
    import io

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    with zipfile.ZipFile(signed_pack[0]) as archive:
        parquet = pq.read_table(io.BytesIO(archive.read("data/trades.parquet")))
        csv = pacsv.read_csv(io.BytesIO(archive.read("data/trades.csv")))
    assert parquet.column("trade_id").to_pylist() == csv.column("trade_id").to_pylist()
