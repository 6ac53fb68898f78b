"""The text models trained on two processes with Lightning DDP on CPU (gloo), then used in one process.

Each run fits a tiny model for one epoch on two ranks with checkpoints on, forecasts with the default trainer,
and records on every rank the vocabulary it trains with. The test then checks that both ranks saw the same
texts and rows, that every series was forecast, and that the checkpoint loaded in this process forecasts the
same values.

``ddp_spawn`` and ``ddp_fork`` (the same launcher, forked workers: seconds instead of a fresh interpreter per rank)
run inside pytest. ``ddp`` re-executes the script for each extra rank (or torchrun starts every rank), so those
tests run this file as a script (``python tests/models/test_ddp.py ddp OUT_DIR ENCODER_DIR MODEL...``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.utils.serialization import add_safe_globals
from pytorch_lightning.callbacks import Callback

from darts_llm.models import TextBlockRNNModel, TextTFTModel, TextTiDEModel, TextTSMixerModel
from darts_llm.models.distributed import is_multi_process, single_process_params

#: name -> (class, backbone settings); all tiny, one epoch
MODELS = {
    "TextTiDEModel": (TextTiDEModel, dict(hidden_size=8, decoder_output_dim=4, temporal_decoder_hidden=8)),
    "TextTFTModel": (TextTFTModel, dict(hidden_size=8, hidden_continuous_size=4, num_attention_heads=2,
                                        add_relative_index=True, categorical_embedding_sizes={"sku": 6})),
    "TextTSMixerModel": (TextTSMixerModel, dict(hidden_size=8, ff_size=8, num_blocks=1)),
    "TextBlockRNNModel": (TextBlockRNNModel, dict(hidden_dim=8)),
    # the transformer trains inside the network: its LoRA adapters are what DDP synchronises
    "TextTiDEModel-lora": (TextTiDEModel, dict(hidden_size=8, decoder_output_dim=4, encoder_finetuning="lora",
                                               lora_r=2, encoder_lr=1e-2)),
}
DESCRIPTIONS = ["candle", "red heart", "blue garden chair", "christmas tree light set", "vintage tea mug of glass",
                "pink party bunting cake stand decoration"]
HORIZON = 4


def make_panel() -> list[TimeSeries]:
    rng = np.random.default_rng(0)
    rows = [{"sku": k, "week": t, "qty": 1.0 + k % 3 + np.sin(t / 2 + k) + 0.1 * rng.normal(), "description": text,
             "price": 1.5 + k} for k, text in enumerate(DESCRIPTIONS) for t in range(30)]
    series = TimeSeries.from_group_dataframe(pd.DataFrame(rows), group_cols="sku", time_col="week",
                                             value_cols="qty", static_cols=["description", "price"])
    return [s.astype(np.float32) for s in series]


class VocabularyRecorder(Callback):
    """Writes, on every rank, the texts and a digest of the rows of the vocabulary the network trains with."""

    def __init__(self, directory: str):
        self.directory = directory

    def setup(self, trainer, pl_module, stage):  # before DDP wraps the module (and broadcasts rank 0's buffers)
        if stage != "fit":
            return
        vocabulary = pl_module.vocabulary
        digest = hashlib.sha256()
        for name, buffer in sorted(vocabulary.named_buffers(recurse=False)):
            digest.update(name.encode() + buffer.detach().cpu().contiguous().numpy().tobytes())
        record = {"rank": trainer.global_rank, "world_size": trainer.world_size, "texts": list(vocabulary.texts),
                  "rows": digest.hexdigest(), "pid": os.getpid()}
        Path(self.directory, f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


add_safe_globals([VocabularyRecorder])  # the callback is one of the saved model's trainer arguments


def fit_on_two_processes(name: str, strategy: str, encoder: str, out: Path) -> list[np.ndarray]:
    """Fit ``MODELS[name]`` with ``strategy`` on 2 CPU processes and forecast with the default trainer."""
    cls, kwargs = MODELS[name]
    records = out / name
    records.mkdir(parents=True, exist_ok=True)
    trainer = {"accelerator": "cpu", "devices": 2, "strategy": strategy, "enable_progress_bar": False,
               "enable_model_summary": False, "logger": False, "callbacks": [VocabularyRecorder(str(records))]}
    model = cls(input_chunk_length=8, output_chunk_length=HORIZON, n_epochs=1, batch_size=16, random_state=0,
                text_encoder=encoder, text_dim=4, pl_trainer_kwargs=trainer, save_checkpoints=True,
                model_name=name, work_dir=str(out), force_reset=True, **kwargs)
    panel = make_panel()
    model.fit(panel)
    forecasts = [f.all_values() for f in model.predict(HORIZON, series=panel)]
    np.save(records / "forecasts.npy", np.stack(forecasts))
    return forecasts


def check_run(name: str, out: Path, forecasts: list[np.ndarray]) -> None:
    cls, _ = MODELS[name]
    records = [json.loads((out / name / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2] and records[0]["pid"] != records[1]["pid"]
    assert records[0]["texts"] == records[1]["texts"] == DESCRIPTIONS
    assert records[0]["rows"] == records[1]["rows"]
    assert len(forecasts) == len(DESCRIPTIONS)  # every series, not one rank's share
    loaded = cls.load_from_checkpoint(name, work_dir=str(out), best=False)
    assert loaded.text_vocabulary.texts == DESCRIPTIONS
    again = loaded.predict(HORIZON, series=make_panel())
    np.testing.assert_allclose(np.stack([f.all_values() for f in again]), np.stack(forecasts), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "params, multi",
    [({"accelerator": "cpu"}, False), ({"devices": 1, "strategy": "auto"}, False), ({"devices": "auto"}, False),
     ({"devices": 2}, True), ({"devices": [0, 1]}, True), ({"devices": "0,1"}, True), ({"devices": -1}, True),
     ({"strategy": "ddp_spawn", "devices": 1}, True), ({"num_nodes": 2}, True)],
)
def test_which_trainer_arguments_run_several_processes(params, multi):
    assert is_multi_process(params) is multi
    single = single_process_params(params)
    assert not is_multi_process(single) and single.get("accelerator") == params.get("accelerator")


def test_single_process_keeps_the_first_device_named():
    assert single_process_params({"devices": "1,2"})["devices"] == [1]
    assert single_process_params({"devices": [3, 0]})["devices"] == [3]


FORK = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
FOUR = ["TextTiDEModel", "TextTFTModel", "TextTSMixerModel", "TextBlockRNNModel"]


@pytest.mark.parametrize(
    "name, strategy",
    [pytest.param(name, "ddp_fork", marks=FORK) for name in [*FOUR, "TextTiDEModel-lora"]]
    + [("TextTiDEModel", "ddp_spawn")]
    + [pytest.param(name, "ddp_spawn", marks=pytest.mark.slow) for name in FOUR[1:]],
)
def test_text_models_train_on_two_processes_and_their_checkpoint_forecasts_the_same(name, strategy, tiny_bert_dir,
                                                                                     tmp_path):
    # ddp_fork is ddp_spawn's launcher with forked workers (seconds instead of a fresh interpreter per rank);
    # ddp_spawn pickles the model to its workers, once per model class in the default run
    forecasts = fit_on_two_processes(name, strategy, tiny_bert_dir, tmp_path)
    check_run(name, tmp_path, forecasts)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [[], ["-m", "torch.distributed.run", "--nproc_per_node=2"]],
                         ids=["lightning-launches-rank-1", "torchrun"])
def test_frozen_and_lora_models_train_with_ddp_launched_as_a_script(launcher, tiny_bert_dir, tmp_path):
    names = ["TextTiDEModel", "TextTiDEModel-lora"]
    result = subprocess.run([sys.executable, *launcher, __file__, "ddp", str(tmp_path), tiny_bert_dir, *names],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-4000:]
    for name in names:
        check_run(name, tmp_path, list(np.load(tmp_path / name / "forecasts.npy")))


if __name__ == "__main__":  # every rank runs this: Lightning's "ddp" starts rank 1 as `python <this file> <args>`,
    # torchrun starts both ranks
    import torch

    torch.set_num_threads(1)
    import test_ddp  # this file under the name pytest gives it, so that the saved callback is found when loading

    strategy, out_dir, encoder_dir, *model_names = sys.argv[1:]
    for model_name in model_names:
        test_ddp.fit_on_two_processes(model_name, strategy, encoder_dir, Path(out_dir))
