"""The integration recipes (Lightning, Accelerate, 🤗 Trainer) as real tiny CPU training runs.

Each recipe runs as a script (one process) and must beat chance clearly with exact accounting;
Lightning, Accelerate and the Trainer also run on 2 CPU processes (gloo, 127.0.0.1) through
workers in this folder that record, per rank and epoch, the plan, the shard and the indices
actually trained on: every rank must train exactly its ``plan[rank::2]`` (no second split by the
framework) and all ranks must end with the same strategy state.
"""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import BatchSampler, DataLoader, TensorDataset  # noqa: E402

from specurate.curation import Uniform  # noqa: E402
from specurate.errors import SpecurateInputError  # noqa: E402
from specurate.torch import CurationSampler, IndexedDataset  # noqa: E402
from specurate.torch.integrations import (  # noqa: E402
    IndexedDictDataset,
    check_loader,
    curated_loss,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
RECIPES = ROOT / "examples" / "integrations"
HERE = Path(__file__).resolve().parent
EPOCHS, N_TRAIN = 2, 512  # what every recipe trains: 2 epochs over 512 examples
FRAMEWORK = {
    "lightning_recipe.py": "lightning",
    "accelerate_recipe.py": "accelerate",
    "trainer_recipe.py": "transformers",
}
RESULT = re.compile(r"^test_accuracy=([0-9.]+) accounting=(\{.*\})$")


def _env(tmp_path: Path, port: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",  # nothing is ever downloaded
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf"),
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    if port is not None:  # a 2-process worker: it imports the recipe it exercises
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(RECIPES), env.get("PYTHONPATH")]))
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- the recipes, as scripts
@pytest.mark.parametrize("name", sorted(FRAMEWORK))
def test_recipe_runs_and_learns(name: str, tmp_path: Path) -> None:
    pytest.importorskip(FRAMEWORK[name])
    proc = _run([sys.executable, str(RECIPES / name)], _env(tmp_path), cwd=tmp_path)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing"
    match = RESULT.match(lines[-1])
    assert match, f"unexpected last line of {name}: {lines[-1]!r}"
    accuracy, accounting = float(match[1]), ast.literal_eval(match[2])
    assert accuracy > 0.6, f"{name}: test accuracy {accuracy} (chance is 0.25)"
    # one process: every epoch trains the whole plan (epoch_length = n), each example once
    assert accounting["trained"] == EPOCHS * N_TRAIN
    assert accounting["extra_forward"] == 0 and accounting["extra_compute"] == 0


# ---------------------------------------------------------------------- 2 processes (gloo)
def _launch(stack: str, out: Path, port: int) -> list[str]:
    if stack == "lightning":  # Lightning starts rank 1 itself (re-running this command)
        return [sys.executable, str(HERE / "_ddp_lightning.py"), str(out)]
    return [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(port),
        str(HERE / f"_ddp_{stack}.py"), str(out),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("stack", "module"),
    [("lightning", "lightning"), ("accelerate", "accelerate"), ("trainer", "transformers")],
)
def test_two_processes_train_the_plan_once_and_agree(
    stack: str, module: str, tmp_path: Path
) -> None:
    pytest.importorskip(module)
    out = tmp_path / "out"
    out.mkdir()
    port = _free_port()
    _run(_launch(stack, out, port), _env(tmp_path, port), cwd=tmp_path)
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r, rec in enumerate(ranks):
        assert (rec["rank"], rec["world"]) == (r, 2)
        assert (rec["sampler_rank"], rec["sampler_world"]) == (r, 2), "sampler has wrong ranks"
        assert [e["epoch"] for e in rec["epochs"]] == list(range(EPOCHS))
    for epoch in range(EPOCHS):
        e0, e1 = (rec["epochs"][epoch] for rec in ranks)
        plan = e0["plan"]
        assert e1["plan"] == plan, f"epoch {epoch}: the ranks follow different plans"
        assert len(plan) == N_TRAIN
        for r, e in enumerate((e0, e1)):
            # exactly the sampler's shard, in its order: the framework did not split it again
            assert e["shard"] == plan[r::2]
            assert e["seen"] == e["shard"], f"epoch {epoch}, rank {r} trained on other indices"
        assert sorted(e0["seen"] + e1["seen"]) == sorted(plan)  # together: the plan, once
    assert ranks[0]["digest"] == ranks[1]["digest"], "the ranks' strategy states differ"
    for rec in ranks:  # observations are gathered from both ranks on each
        assert rec["accounting"]["trained"] == EPOCHS * N_TRAIN


# ---------------------------------------------------------------------- the glue itself
def _sampler(n: int = 40, **kw) -> CurationSampler:
    return CurationSampler(Uniform(), n, seed=0, **kw)


def test_check_loader_accepts_a_plain_loader_and_rejects_replacements() -> None:
    s = _sampler()
    data = IndexedDataset(TensorDataset(torch.arange(40.0)))
    check_loader(DataLoader(data, batch_size=8, sampler=s), s)
    with pytest.raises(SpecurateInputError, match="does not draw from this CurationSampler"):
        check_loader(DataLoader(data, batch_size=8, shuffle=True), s)
    with pytest.raises(SpecurateInputError, match="rank 0 of 1 but this process is rank 1 of 2"):
        check_loader(DataLoader(data, batch_size=8, sampler=s), s, world_size=2, rank=1)


def test_check_loader_rejects_an_accelerate_prepared_loader() -> None:
    data_loader = pytest.importorskip("accelerate.data_loader")
    s = _sampler(num_replicas=2, rank=0)
    shard = data_loader.BatchSamplerShard(
        BatchSampler(s, batch_size=4, drop_last=False), num_processes=2, process_index=0
    )
    loader = DataLoader(IndexedDataset(TensorDataset(torch.arange(40.0))), batch_sampler=shard)
    with pytest.raises(SpecurateInputError, match=r"accelerator\.prepare"):
        check_loader(loader, s, world_size=2, rank=0)


def test_curated_loss_scales_observes_and_rejects_reduced_losses() -> None:
    s = _sampler(8)
    s.set_epoch(0)
    idx = torch.tensor(s.shard()[:4])
    per = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    loss = curated_loss(s, idx, per)
    assert loss.item() == pytest.approx(2.5)  # Uniform: multipliers 1
    assert s.accounting()["trained"] == 4
    with pytest.raises(SpecurateInputError, match="reduction='none'"):
        curated_loss(s, idx, per.mean())


def test_indexed_dict_dataset() -> None:
    ds = IndexedDictDataset([{"x": 1}, {"x": 2}])
    assert len(ds) == 2 and ds[1] == {"x": 2, "idx": 1}
    with pytest.raises(SpecurateInputError, match="dict items"):
        IndexedDictDataset([(1, 2)])[0]
    with pytest.raises(SpecurateInputError, match="already has"):
        IndexedDictDataset([{"idx": 5}])[0]


def test_curation_trainer_needs_the_index_column(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    from specurate.torch.integrations import CurationTrainer

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", remove_unused_columns=True
    )
    with pytest.raises(SpecurateInputError, match="remove_unused_columns=False"):
        CurationTrainer(
            model=torch.nn.Linear(2, 2), args=args, train_dataset=[{}], sampler=_sampler(1)
        )


def test_module_imports_without_the_frameworks() -> None:
    code = (
        "import sys\n"
        "for m in ('lightning', 'pytorch_lightning', 'accelerate', 'transformers'):\n"
        "    sys.modules[m] = None\n"
        "import specurate.torch.integrations as m\n"
        "assert callable(m.curated_loss) and callable(m.check_loader)\n"
        "for name in ('CurationCallback', 'CurationTrainer'):\n"
        "    try:\n"
        "        getattr(m, name)\n"
        "    except ImportError as e:\n"
        "        assert 'specurate[integrations]' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError(name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------------- README
def test_readme_shows_each_recipe_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    for name in sorted(FRAMEWORK):
        text = (RECIPES / name).read_text(encoding="utf-8").strip()
        assert any(text in block for block in blocks), (
            f"README.md has no ```python block containing examples/integrations/{name} verbatim"
        )
