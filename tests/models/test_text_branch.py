"""How the text enters: the gate starts closed, text dropout, the principal-component bottleneck, the penalty."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from darts_llm.models.text_branch import TextBranch

from test_text_models import make_panel, tide, values, with_description


def test_a_new_gated_branch_ignores_the_text():
    torch.manual_seed(0)
    branch = TextBranch(16, 4, gated=True).eval()
    a, b = torch.randn(3, 16), torch.randn(3, 16)
    torch.testing.assert_close(branch(a), branch(b))  # the new network is its no-text twin
    torch.testing.assert_close(branch(a), branch.without_text(branch(a)))
    ungated = TextBranch(16, 4, gated=False).eval()
    assert not torch.allclose(ungated(a), ungated(b))


def test_text_dropout_replaces_the_text_by_the_no_text_vector():
    torch.manual_seed(0)
    branch = TextBranch(16, 4, gated=False, no_text_prob=0.3)
    with torch.no_grad():
        branch.no_text.fill_(7.0)
    out = branch.train()(torch.randn(4000, 16))
    dropped = (out == 7.0).all(dim=-1).float().mean().item()
    assert dropped == pytest.approx(0.3, abs=0.03)
    assert not (branch.eval()(torch.randn(50, 16)) == 7.0).all(dim=-1).any()  # never at prediction


def test_the_projection_reads_only_the_principal_components():
    torch.manual_seed(0)
    base = torch.randn(1, 16) * torch.tensor([5.0, 4.0] + [0.0] * 14)  # the texts vary along two axes only
    rows = base + torch.randn(20, 1) * torch.tensor([[5.0, 4.0] + [0.0] * 14])
    rows = torch.cat([rows[:10], rows[10:] * torch.tensor([[1.0, -1.0] + [1.0] * 14])])
    branch = TextBranch(16, 4, components=2).eval()
    branch.fit_basis(rows)
    x = rows[:3].clone()
    moved = x.clone()
    moved[:, 5:] += 3.0  # a direction outside the two components
    torch.testing.assert_close(branch(x), branch(moved))
    along = x.clone()
    along[:, 0] += 3.0
    assert not torch.allclose(branch(x), branch(along))


def test_text_penalty_is_added_to_the_training_loss(tiny_encoder, cpu_trainer_kwargs):
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=1, text_penalty=0.5, text_entry="static").fit(make_panel())
    module = model.model.train()
    with torch.no_grad():
        module.text_branches[0].gate.fill_(1.0)
    static = torch.tensor([[[0.0, 1.5, 1.0, 0.0, 0.0]]])
    module.fuse_static(static)
    influence = module.text_branches[0].influence
    assert influence > 0
    out = type("Out", (), {})()
    out.prediction = torch.zeros(1, 2, 1, 1)
    target = torch.ones(1, 2, 1)
    loss = module._compute_loss(out, target, module.train_criterion, None)
    assert loss.item() == pytest.approx(1.0 + 0.5 * influence.item(), rel=1e-5)


def test_default_model_keeps_the_basis_through_save_and_load(tiny_encoder, cpu_trainer_kwargs, tmp_path):
    from darts_llm.models import TextTiDEModel

    panel = make_panel()
    model = tide(tiny_encoder, cpu_trainer_kwargs, n_epochs=2, text_components=3).fit(panel)
    basis = model.model.all_text_branches[0].basis.clone()
    assert basis.abs().sum() > 0 and basis.shape == (tiny_encoder.dim, 3)
    expected = values(model.predict(4, series=panel))
    model.save(str(tmp_path / "m.pt"))
    loaded = TextTiDEModel.load(str(tmp_path / "m.pt"))
    torch.testing.assert_close(loaded.model.all_text_branches[0].basis, basis)
    np.testing.assert_array_equal(values(loaded.predict(4, series=panel)), expected)
    # the basis is the training texts': a new text does not change it
    model.predict(4, series=with_description(panel[0], "a text never seen"))
    torch.testing.assert_close(model.model.all_text_branches[0].basis, basis)
