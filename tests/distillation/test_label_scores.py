"""`PruningConfig(score_loss="labels")`: a distilled run scores units with the hard-label loss's gradients."""

import copy

import pytest
import torch
from transformers import Trainer

from hf_compress import DistillationConfig, PruningCallback, PruningConfig
from hf_compress.distillation import trainer as trainer_module
from hf_compress.distillation.trainer import DistillationTrainer

from .conftest import classification_dataset, training_args


KD_WITH_HIDDEN = DistillationConfig(alpha=0.5, temperature=2.0, hidden_loss_weight=5.0)


def taylor_callback(score_loss: str, end_step: int = 10) -> PruningCallback:
    """Taylor scores on FFN neurons, a pruning event at step 0 (amount 0) and the next one at `end_step`."""
    return PruningCallback(
        PruningConfig(
            method="taylor",
            structure="neurons",
            target_sparsity=0.5,
            schedule="cubic",
            end_step=end_step,
            frequency=end_step,
            shrink=False,
            score_loss=score_loss,
        )
    )


def distil_one_step(tmp_path, pair, score_loss: str, **overrides) -> PruningCallback:
    """One optimizer step over all 8 rows in two accumulated micro-batches of 4; returns the callback."""
    teacher, student = pair
    callback = taylor_callback(score_loss)
    trainer = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=KD_WITH_HIDDEN,
        args=training_args(
            tmp_path / score_loss, per_device_train_batch_size=4, gradient_accumulation_steps=2, **overrides
        ),
        train_dataset=classification_dataset(n=8),
        callbacks=[callback],
    )
    trainer.train()
    return callback


def hard_label_taylor_scores(student, param_names: list[str]) -> dict[str, torch.Tensor]:
    """(weight x gradient of the mean cross-entropy over the 8 rows)^2, computed directly on a copy."""
    model = copy.deepcopy(student)
    batch = {k: torch.tensor(v) for k, v in classification_dataset(n=8)[:].items()}
    model(**batch).loss.backward()
    params = dict(model.named_parameters())
    return {name: (params[name].detach() * params[name].grad).square() for name in param_names}


@pytest.mark.parametrize("checkpointing", [False, True], ids=["plain", "gradient_checkpointing"])
def test_label_scores_are_the_hard_label_gradients_over_the_accumulated_step(tmp_path, tiny_bert_pair, checkpointing):
    callback = distil_one_step(tmp_path, tiny_bert_pair, "labels", gradient_checkpointing=checkpointing)
    scores = callback._method._scores
    expected = hard_label_taylor_scores(tiny_bert_pair[1], callback._method.param_names)
    assert scores.keys() == expected.keys() and any("intermediate" in name for name in scores)
    for name in expected:
        torch.testing.assert_close(scores[name], expected[name], rtol=1e-4, atol=1e-10, msg=name)
    assert callback._method.steps_seen == 1
    # the distillation loss's gradients (hidden-state MSE included) rank the units differently
    training = distil_one_step(tmp_path, tiny_bert_pair, "training")._method._scores
    assert any(not torch.allclose(training[name], expected[name], rtol=0.5, atol=0) for name in expected)


def test_no_hard_label_backward_after_the_last_pruning_event(tmp_path, tiny_bert_pair, monkeypatch):
    calls = []
    feed = trainer_module.feed_label_gradients
    monkeypatch.setattr(
        trainer_module, "feed_label_gradients", lambda callbacks, loss: calls.append(1) or feed(callbacks, loss)
    )
    teacher, student = tiny_bert_pair
    callback = taylor_callback("labels", end_step=2)
    DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=KD_WITH_HIDDEN,
        args=training_args(tmp_path, max_steps=5),
        train_dataset=classification_dataset(n=40),
        callbacks=[callback],
    ).train()
    assert len(calls) == 2  # the steps before the event at step 2; none of the 3 after it
    assert callback.events == 2 and callback._label_gradients is None


def test_wants_label_gradients_until_the_last_event():
    cubic = taylor_callback("labels", end_step=4)
    cubic.setup(trainer_free_model(), max_steps=10)
    assert [cubic.wants_label_gradients(step) for step in range(6)] == [True] * 4 + [False] * 2
    oneshot = PruningCallback(method="taylor", structure="neurons", schedule="oneshot", start_step=2,
                              score_loss="labels")  # fmt: skip
    oneshot.setup(trainer_free_model(), max_steps=10)
    assert [oneshot.wants_label_gradients(step) for step in range(4)] == [True, True, False, False]
    training = taylor_callback("training", end_step=4)
    training.setup(trainer_free_model(), max_steps=10)
    assert not training.wants_label_gradients(0)


def trainer_free_model():
    from transformers import BertForSequenceClassification

    from .conftest import bert_config

    torch.manual_seed(0)
    return BertForSequenceClassification(bert_config())


def test_a_plain_trainer_scores_the_same_with_either_setting(tmp_path, tiny_bert_pair):
    """Without distillation the training loss is the hard-label loss, so the two settings agree."""
    scores = {}
    for score_loss in ("training", "labels"):
        callback = taylor_callback(score_loss)
        Trainer(
            model=copy.deepcopy(tiny_bert_pair[1]),
            args=training_args(tmp_path / score_loss),
            train_dataset=classification_dataset(n=8),
            callbacks=[callback],
        ).train()
        scores[score_loss] = callback._method._scores
    assert scores["training"].keys() == scores["labels"].keys()
    for name in scores["training"]:
        torch.testing.assert_close(scores["labels"][name], scores["training"][name], msg=name)


def test_bad_score_loss_names_the_field_and_the_allowed_values():
    with pytest.raises(ValueError, match=r"score_loss='teacher'.*allowed values: \['training', 'labels'\]"):
        PruningConfig(method="taylor", score_loss="teacher")
    with pytest.raises(ValueError, match=r"score_loss='labels'.*method='magnitude' scores without gradients"):
        PruningConfig(method="magnitude", score_loss="labels")
