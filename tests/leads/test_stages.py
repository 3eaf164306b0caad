import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.stages import STAGE_ORDER, MoveKind, Stage, StageMoveRefused, allowed_targets, classify_move


def test_one_step_forward_needs_no_reason():
    assert classify_move(from_stage=Stage.MQL, to_stage=Stage.SAL).kind == MoveKind.FORWARD


def test_jump_forward_without_reason_is_refused():
    with pytest.raises(StageMoveRefused, match="needs a reason"):
        classify_move(from_stage=Stage.LEAD_GEN, to_stage=Stage.SQL)


def test_jump_forward_with_reason_is_a_jump():
    assert classify_move(from_stage=Stage.LEAD_GEN, to_stage=Stage.SQL, reason="inbound call").kind == MoveKind.JUMP


@pytest.mark.parametrize("from_stage", [Stage.MQL, Stage.SAL, Stage.SQL])
def test_sales_stages_fall_back_to_nurture_with_a_reason(from_stage):
    assert classify_move(from_stage=from_stage, to_stage=Stage.NURTURE, reason="no budget").kind == MoveKind.FALL_BACK


def test_falling_back_without_reason_is_refused():
    with pytest.raises(StageMoveRefused):
        classify_move(from_stage=Stage.SAL, to_stage=Stage.NURTURE)


def test_customer_cannot_fall_back_to_nurture():
    with pytest.raises(StageMoveRefused):
        classify_move(from_stage=Stage.CUSTOMER, to_stage=Stage.NURTURE, reason="churned")


def test_customer_starts_a_new_cycle_at_lead_generation():
    move = classify_move(from_stage=Stage.CUSTOMER, to_stage=Stage.LEAD_GEN, new_cycle=True)
    assert move.kind == MoveKind.NEW_CYCLE


def test_only_a_customer_starts_a_new_cycle():
    with pytest.raises(StageMoveRefused):
        classify_move(from_stage=Stage.SQL, to_stage=Stage.LEAD_GEN, new_cycle=True)


def test_unknown_stage_is_refused():
    with pytest.raises(StageMoveRefused, match="not a stage"):
        classify_move(from_stage=Stage.MQL, to_stage="won")


stages = st.sampled_from(STAGE_ORDER)


@given(from_stage=stages, to_stage=stages, reason=st.sampled_from(["", "why not"]))
def test_every_allowed_move_is_forward_or_a_fall_back_to_nurture(from_stage, to_stage, reason):
    try:
        move = classify_move(from_stage=from_stage, to_stage=to_stage, reason=reason)
    except StageMoveRefused:
        return
    forward = STAGE_ORDER.index(to_stage) > STAGE_ORDER.index(from_stage)
    assert forward or (to_stage == Stage.NURTURE and from_stage in {Stage.MQL, Stage.SAL, Stage.SQL})
    assert move.kind != MoveKind.JUMP or reason


@given(from_stage=stages)
def test_allowed_targets_are_exactly_the_moves_accepted_with_a_reason(from_stage):
    accepted = set()
    for to_stage in STAGE_ORDER:
        try:
            classify_move(from_stage=from_stage, to_stage=to_stage, reason="because")
            accepted.add(to_stage)
        except StageMoveRefused:
            pass
    assert accepted == set(allowed_targets(from_stage))
