"""The category classifier: obvious texts, typos, dialect, English, empty text, CLI, corrections."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.services.cases import classify
from models import Category, CategoryCorrection, OrgUnit, Request, UnitKind
from tests.conftest import TestDB


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼道灯坏了", "lighting"),
        ("小区路灯晚上不亮", "lighting"),
        ("楼上卫生间漏水渗到俺家天花板了", "plumbing"),
        ("下水道堵了 一楼往外冒脏水", "plumbing"),
        ("顶楼屋面防水坏了 一下雨就漏", "housing_repair"),
        ("小区门口路面有个大坑", "road"),
        ("有人把车停在消防通道上 堵着出不去", "parking"),
        ("垃圾桶满了好几天没人清运", "sanitation"),
        ("楼前的树枝太长了需要修剪", "greening"),
        ("电梯又坏了 老人下不了楼", "facilities"),
        ("楼道里有人给电动车飞线充电 太危险", "safety"),
        ("对门邻居把鞋柜放在楼道里 说了还骂人", "dispute"),
        ("楼下广场舞音响太吵了", "noise"),
        ("物业费涨价了 服务却越来越差", "property"),
        ("低保怎么申请 需要什么材料", "policy"),
        ("老楼加装电梯有补贴吗", "policy"),
        ("谢谢网格员", "other"),
        ("the stairwell light is broken", "lighting"),
        ("neighbour's dog barks all night", "noise"),
        ("the sewer is blocked and water comes up the drain", "plumbing"),
        ("how do I apply for the elderly allowance", "policy"),
        ("俺家楼道灯木有亮 咋整", "lighting"),
        ("恁们能不能管管楼上半夜跺脚", "noise"),
    ],
)
def test_obvious_texts_land_first(text: str, expected: str) -> None:
    assert classify.suggest(text)[0].category == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼道等坏了", "lighting"),
        ("俺家卫生间漏谁了", "plumbing"),
        ("房顶露水 下雨就滴答", "housing_repair"),
        ("垃圾好几天没人清 臭死了🤮", "sanitation"),
        ("stairwel lite brokn", "lighting"),
    ],
)
def test_typos_land_in_top_three(text: str, expected: str) -> None:
    assert expected in [candidate.category for candidate in classify.suggest(text)]


@pytest.mark.parametrize("text", ["", "   ", "😀😀👍", "!!!", "123"])
def test_empty_or_emoji_text_returns_other_first(text: str) -> None:
    candidates = classify.suggest(text)
    assert len(candidates) == 3
    assert candidates[0].category == "other"


def test_scores_are_sorted_and_sum_at_most_one() -> None:
    candidates = classify.suggest("楼道里的灯不亮了 电线还露在外面", top=14)
    scores = [candidate.score for candidate in candidates]
    assert len(candidates) == len(classify.CATEGORIES)
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1
    assert {candidate.category for candidate in candidates} == set(classify.CATEGORIES)


def test_labelled_set_covers_every_category() -> None:
    examples = classify.load_examples()
    counts = {category: 0 for category in classify.CATEGORIES}
    for category, _ in examples:
        counts[category] += 1
    assert len(examples) >= 900
    assert min(counts.values()) >= 60
    assert len({text for _, text in examples}) == len(examples)


def test_cli_prints_json_with_three_candidates() -> None:
    result = CliRunner().invoke(app, ["classify", "楼道灯坏了"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["category"] == "lighting"
    assert len(answer["candidates"]) == 3
    first = answer["candidates"][0]
    assert first["category"] == "lighting" and 0 < first["score"] <= 1


def test_training_on_a_tiny_set() -> None:
    model = classify.train(
        [
            ("noise", "楼上太吵了"),
            ("noise", "装修噪音"),
            ("lighting", "路灯不亮"),
            ("lighting", "楼道灯坏了"),
        ]
    )
    assert model.suggest("晚上楼上吵得睡不着", top=1)[0].category == "noise"
    assert model.suggest("路灯坏了", top=1)[0].category == "lighting"
    # The fallback category always exists, so an empty text has somewhere to go.
    assert model.suggest("", top=1)[0].category == "other"


def test_keywords_add_evidence() -> None:
    examples = [("noise", "楼上太吵了"), ("lighting", "路灯不亮")]
    before = classify.train(examples).suggest("蝈蝈", top=1)[0].category
    after = classify.train(examples, keywords={"noise": ["蝈蝈"]}).suggest("蝈蝈", top=1)
    assert before == "other"
    assert after[0].category == "noise"


def test_retrain_replaces_the_cached_model() -> None:
    text = "咕噜咕噜噗噗噗"
    try:
        classify.retrain([("greening", text)] * 3)
        assert classify.suggest(text)[0].category == "greening"
    finally:
        classify.retrain([])
    assert classify.suggest("楼道灯坏了")[0].category == "lighting"


async def test_corrections_as_examples(db: TestDB) -> None:
    code = uuid.uuid4().hex[:8]
    async with db.sessions() as session:
        category = Category(slug=f"test-{code}", name_zh="测试", name_en="test")
        unit = OrgUnit(code=f"grid-{code}", kind=UnitKind.grid, name_zh="测试网格")
        session.add_all([category, unit])
        await session.flush()
        request = Request(
            reference=f"T-{code}",
            category_id=category.id,
            owner_unit_id=unit.id,
            description="楼道里的电线露着",
        )
        session.add(request)
        await session.flush()
        session.add_all(
            [
                CategoryCorrection(
                    request_id=request.id,
                    text="楼道里的电线露着",
                    suggested="lighting",
                    corrected="safety",
                ),
                CategoryCorrection(
                    request_id=request.id, text="  ", suggested="other", corrected="noise"
                ),
            ]
        )
        await session.flush()
        examples = await classify.corrections_as_examples(session)
        keywords = await classify.keywords_from_database(session)
    assert ("safety", "楼道里的电线露着") in examples
    assert all(text.strip() for _, text in examples)
    assert keywords[f"test-{code}"] == []
