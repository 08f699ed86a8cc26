"""TrainConfig: defaults left out of the canonical JSON by rule, round trips, one-sentence errors,
and the recipes of sidecars written before it existed."""

from __future__ import annotations

import json

import pytest

from bsx.audio import get_frontend
from bsx.errors import BadOptions, BsxError
from bsx.models.augment import AugmentOptions
from bsx.models.recipe import TrainConfig


def test_defaults_are_the_papers_recipe_and_the_canonical_form_is_empty() -> None:
    cfg = TrainConfig()
    assert (cfg.model, cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.patience) == (
        "resnet-small",
        50,
        32,
        3e-4,
        1e-4,
        7,
    )
    assert cfg.canonical() == {} and cfg.to_json() == "{}"
    assert TrainConfig.from_json("{}") == cfg


def test_canonical_json_holds_exactly_the_changed_fields_and_round_trips() -> None:
    cfg = TrainConfig(
        model="crnn",
        epochs=3,
        lr=1e-3,
        seed=2,
        class_weight=(1.0, 0.5),
        augment=AugmentOptions(noise_p=0.5),
        folds=("s1", "s2"),
        cv="loso",
    )
    assert set(cfg.canonical()) == {
        "model",
        "epochs",
        "lr",
        "seed",
        "class_weight",
        "augment",
        "folds",
        "cv",
    }
    assert json.loads(cfg.to_json())["class_weight"] == [1.0, 0.5]
    again = TrainConfig.from_json(cfg.to_json())
    assert again == cfg and again.to_json() == cfg.to_json()
    # a field set to its default value is left out too: the rule compares values
    assert "epochs" not in TrainConfig(epochs=50, seed=1).canonical()


def test_every_field_is_omitted_at_its_default_and_kept_otherwise() -> None:
    """Meta-test over all fields: a new field needs no list to be updated."""
    other = {
        "model": "crnn",
        "model_options": {"dropout": 0.5},
        "frontend": "paper-whole",
        "epochs": 3,
        "batch_size": 4,
        "lr": 1e-2,
        "weight_decay": 0.0,
        "lr_schedule": "cosine",
        "patience": 2,
        "monitor": "uar",
        "select": "last",
        "class_weight": "balanced",
        "augment": AugmentOptions(),
        "ema": 0.98,
        "seed": 5,
        "device": "cpu",
        "split_mode": "random",
        "split_seed": 1,
        "cv": "loso",
        "folds": ("s0",),
    }
    assert set(other) == set(TrainConfig.model_fields)
    for name, value in other.items():
        cfg = TrainConfig(**{name: value})
        assert list(cfg.canonical()) == [name], name
        assert TrainConfig.from_json(cfg.to_json()) == cfg, name


def test_a_frontend_object_round_trips() -> None:
    fe = get_frontend("paper-whole")
    cfg = TrainConfig(frontend=fe)
    assert TrainConfig.from_json(cfg.to_json()).frontend == fe


def test_loso_preset_and_replace() -> None:
    cfg = TrainConfig.loso(model="crnn", epochs=8)
    assert (cfg.lr, cfg.patience, cfg.monitor, cfg.lr_schedule, cfg.class_weight) == (
        1e-3,
        10,
        "uar",
        "cosine",
        "balanced",
    )
    assert cfg.frontend == "paper-whole" and cfg.augment == AugmentOptions(mixup=0.4)
    assert cfg.cv == "loso" and cfg.select == "last" and cfg.epochs == 8
    assert cfg.replace(seed=4).seed == 4 and cfg.seed == 0
    with pytest.raises(BadOptions, match="'epochs'"):
        cfg.replace(epochs=0)
    with pytest.raises(Exception, match="frozen"):
        cfg.epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"epochs": 0},
            "training setting 'epochs' = 0: Input should be greater than or equal to 1",
        ),
        ({"lr": -1.0}, "training setting 'lr' = -1.0: Input should be greater than 0"),
        (
            {"lr_schedule": "step"},
            "training setting 'lr_schedule' = 'step': accepted: constant, cosine",
        ),
        ({"monitor": "f1"}, "training setting 'monitor' = 'f1': accepted: accuracy, uar"),
        (
            {"class_weight": "inverse"},
            "training setting 'class_weight' = 'inverse': accepted: none, balanced",
        ),
        ({"cv": "kfold"}, "training setting 'cv' = 'kfold': accepted: loso"),
        (
            {"device": "tpu"},
            "training setting 'device' = 'tpu': no device 'tpu'; accepted: auto, "
            "cpu, cuda, cuda:N, mps",
        ),
        (
            {"augment": {"noise_p": 2}},
            "training setting 'augment.noise_p' = 2: Input should be less than or equal to 1",
        ),
        ({"epoch": 3}, "no training setting 'epoch'; known: model, "),
        ({"augment": {"gain": 3}}, "training setting 'augment' has no option 'gain'"),
        (
            {"frontend": {"name": "x", "n_melz": 3}},
            "training setting 'frontend' has no option 'n_melz'",
        ),
    ],
)
def test_a_bad_field_is_one_sentence_naming_it(changes: dict, words: str) -> None:
    with pytest.raises(BadOptions) as info:
        TrainConfig(**changes)
    msg = str(info.value)
    assert msg.startswith(words) and "\n" not in msg


def test_bad_model_options_and_names_are_refused_at_construction() -> None:
    with pytest.raises(BadOptions, match="model 'resnet-small': option 'width'"):
        TrainConfig(model_options={"width": 3})
    with pytest.raises(BsxError, match="no model 'resnet-big'"):
        TrainConfig(model="resnet-big")
    with pytest.raises(BsxError, match="no frontend 'paper-wide'"):
        TrainConfig(frontend="paper-wide")


def test_recipe_of_a_sidecar_written_before_trainconfig() -> None:
    """The packaged default model's sidecar (flat extra.train, written by the old code)."""
    from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path

    meta = json.loads(sidecar_path(DEFAULT_MODEL_FILE).read_text())
    cfg = TrainConfig.from_sidecar(meta)
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.patience, cfg.seed) == (40, 32, 3e-4, 7, 0)
    assert cfg.model == meta["model"]["name"] and cfg.split_mode == "speaker"
    assert cfg.split_seed == 42 and cfg.device == "cpu"
    assert cfg.frontend == get_frontend(meta["frontend"])


def test_recipe_of_an_old_cross_validation_sidecar() -> None:
    """The form cross_validate wrote before TrainConfig: the whole recipe flat, augment None."""
    meta = {
        "model": {"name": "crnn", "options": {"dropout": 0.3}},
        "frontend": get_frontend("paper-whole").model_dump(),
        "split": {"mode": "loso"},
        "extra": {
            "train": {
                "model": "crnn",
                "model_options": {"dropout": 0.3},
                "epochs": 30,
                "batch_size": 32,
                "lr": 1e-3,
                "weight_decay": 1e-4,
                "patience": 10,
                "seed": 1,
                "class_weight": "balanced",
                "augment": None,
                "monitor": "uar",
                "lr_schedule": "cosine",
                "device": "cpu",
            }
        },
    }
    cfg = TrainConfig.from_sidecar(meta)
    assert cfg == TrainConfig.loso(
        model="crnn",
        model_options={"dropout": 0.3},
        epochs=30,
        seed=1,
        augment=None,
        ema=None,  # trained before the EMA was part of the careful recipe
        select="best",  # and before it kept the last epoch
        device="cpu",
        frontend=get_frontend("paper-whole"),
    )


def test_recipe_of_a_new_sidecar_is_its_canonical_form() -> None:
    cfg = TrainConfig(epochs=3, seed=7)
    meta = {"extra": {"train": {"recipe": cfg.canonical(), "best_epoch": 2}}}
    assert TrainConfig.from_sidecar(meta) == cfg


def test_every_field_is_documented_with_its_default() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    for name, f in TrainConfig.model_fields.items():
        default = f.get_default(call_default_factory=True)
        shown = "None" if default is None else "()" if default == () else json.dumps(default)
        assert f"| `{name}` | `{shown}` |" in doc, name
