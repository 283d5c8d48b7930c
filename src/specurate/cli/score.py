"""``specurate score``: per-example static scores of a sharded data set, one Parquet part per
shard keyed by example id, on this machine or a Dask cluster, resumable
(:func:`specurate.engine.scores.score_shards`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from specurate.cli._common import (
    EngineName,
    EngineOpt,
    JsonOpt,
    SchedulerOpt,
    SeedOpt,
    WorkersOpt,
    check_out_dir,
    emit_json,
    guard,
    out_console,
)
from specurate.errors import SpecurateInputError


class ScorerName(StrEnum):
    prototype = "prototype"
    dedup = "dedup"
    el2n = "el2n"
    grand = "grand"


#: the options each scorer reads (others given with it are refused)
_OWN = {
    "--clusters": ("prototype", "dedup"),
    "--sample": ("prototype", "dedup"),
    "--eps": ("dedup",),
    "--block": ("dedup",),
    "--model": ("el2n", "grand"),
    "--labels": ("el2n", "grand"),
}


def score(
    data: Annotated[
        str,
        typer.Argument(
            help="a folder of .parquet or .npy shards, one such file, or a .zarr array "
            "(rows = examples)"
        ),
    ],
    scorer: Annotated[
        ScorerName,
        typer.Option(
            help="prototype (cosine distance to the k-means centroid), dedup (semantic "
            "near-duplicates within clusters), el2n or grand (from --model and --labels)"
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="output folder: part-NNNNN.parquet per shard (id, scores) and _manifest.json; "
            "a rerun resumes"
        ),
    ],
    engine: EngineOpt = EngineName.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    clusters: Annotated[
        int | None, typer.Option(min=1, help="k-means clusters (prototype, dedup) [default: 100]")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="rows sampled across the shards to fit k-means [default: 20000]"),
    ] = None,
    eps: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=2.0, help="dedup: near-duplicates have cosine ≥ 1 − eps [default: 0.01]"
        ),
    ] = None,
    block: Annotated[
        int | None,
        typer.Option(
            min=1, help="dedup: most cluster members compared at once (memory) [default: 2048]"
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="el2n/grand: a classifier saved by specurate.engine.scores.save_model"),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(help="el2n/grand: class labels, a file in row order or a column of DATA"),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option(
            help="example-id column of Parquet shards (unique integers) [default: 'id' if "
            "present, else the row index]"
        ),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="the embedding column of Parquet shards (a list column or one numeric column)"
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="discard the scores already in --out and start again")
    ] = False,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Per-example scores of a sharded data set, written to Parquet keyed by example id."""
    from specurate.engine import open_engine
    from specurate.engine.scores import (
        DEFAULT_BLOCK,
        DEFAULT_CLUSTERS,
        DEFAULT_EPS,
        DEFAULT_SAMPLE,
        read_manifest,
        score_shards,
    )

    name = Path(data).name
    with guard():
        check_out_dir(out)
        given = {
            "--clusters": clusters,
            "--sample": sample,
            "--eps": eps,
            "--block": block,
            "--model": model,
            "--labels": labels,
        }
        for flag, value in given.items():
            if value is not None and scorer.value not in _OWN[flag]:
                raise SpecurateInputError(
                    f"{flag} is not used by --scorer {scorer.value} (only by "
                    f"{' and '.join(_OWN[flag])})."
                )
        if scorer.value in ("el2n", "grand") and (model is None or labels is None):
            raise SpecurateInputError(f"--scorer {scorer.value} needs --model and --labels.")
        if not Path(data).exists():
            raise SpecurateInputError(f"{data}: no such file or folder.")
    with guard():  # the library's messages name the file, folder or option
        with open_engine(
            engine.value, scheduler=scheduler, workers=workers, progress=not as_json
        ) as eng:
            folder = score_shards(
                data,
                out,
                scorer=scorer.value,
                engine=eng,
                clusters=DEFAULT_CLUSTERS if clusters is None else clusters,
                sample=DEFAULT_SAMPLE if sample is None else sample,
                eps=DEFAULT_EPS if eps is None else eps,
                block=DEFAULT_BLOCK if block is None else block,
                model=model,
                labels=labels,
                id_column=id_column,
                features=features,
                seed=seed,
                overwrite=overwrite,
            )
        manifest = read_manifest(folder)
    result = _summary(manifest, name, folder)
    if as_json:
        emit_json(result)
        return
    _table(result)


def _summary(manifest: dict[str, Any], name: str, folder: Path) -> dict[str, Any]:
    counts, run = manifest["counts"], manifest["run"]
    out: dict[str, Any] = {
        "data": name,
        "scorer": manifest["scorer"],
        "out": str(folder),
        "manifest": str(folder / "_manifest.json"),
        "score_column": manifest["score_column"],
        "columns": manifest["columns"],
        "examples": counts["examples"],
        "unique_ids": counts["unique_ids"],
        "parts": counts["parts"],
        "parts_computed": counts["parts_computed"],
        "parts_skipped": counts["parts_skipped"],
        "examples_computed": counts["examples_computed"],
        "examples_per_s": run["examples_per_s"],
        "wall_s": run["wall_s"],
        "engine": run["engine"],
        "workers": run["workers"],
    }
    if "duplicates" in counts:
        out["duplicates"] = counts["duplicates"]
        out["kept"] = counts["kept"]
    return out


def _table(r: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=f"{r['scorer']} scores of {r['data']}", show_header=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    rows = [
        ("examples scored", f"{r['examples']:,} ({r['unique_ids']:,} unique ids)"),
        (
            "parts computed / skipped",
            f"{r['parts_computed']} / {r['parts_skipped']} of {r['parts']}",
        ),
        ("throughput", f"{r['examples_per_s']:,.0f} examples/s"),
        ("wall time", f"{r['wall_s']:.1f} s"),
        ("engine", f"{r['engine']} ({r['workers']} worker{'s' if r['workers'] != 1 else ''})"),
    ]
    if "duplicates" in r:
        rows.append(("near-duplicates", f"{r['duplicates']:,} (kept {r['kept']:,})"))
    rows.append(("output folder", r["out"]))
    for key, value in rows:
        t.add_row(key, value)
    out_console.print(t)
    out_console.print(
        f"scores: {r['out']}/part-*.parquet (columns {', '.join(r['columns'])}); "
        f"default column '{r['score_column']}'",
        markup=False,
        highlight=False,
    )
