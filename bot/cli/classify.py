"""`redgrid classify TEXT`: suggest categories for a resident's text, as JSON;
`redgrid classify --retrain`: learn from staff corrections now, as the weekly sweep does."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import settings_or_exit, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def classify(
    text: str = typer.Argument("", help="The resident's text, Chinese or English."),
    top: int = typer.Option(3, "--top", min=1, max=14, help="How many candidates to print."),
    retrain: bool = typer.Option(
        False,
        "--retrain",
        help="Retrain on the shipped set plus staff corrections, cross-validated; the model "
        "is swapped only if top-1 accuracy does not drop. Prints both figures.",
    ),
) -> None:
    """Print the suggested category and the top candidates as JSON (or retrain)."""
    if retrain:
        typer.echo(json.dumps(_retrain()))
        return
    if not text.strip():
        raise typer.BadParameter("give a text to classify, or --retrain", param_hint="TEXT")
    # Imported here so other commands do not pay for loading jieba.
    from bot.services.cases import classify as classify_service

    candidates = classify_service.suggest(text, top=top)
    typer.echo(
        json.dumps(
            {
                "category": candidates[0].category if candidates else classify_service.FALLBACK,
                "candidates": [
                    {"category": candidate.category, "score": candidate.score}
                    for candidate in candidates
                ],
            },
            ensure_ascii=False,
        )
    )


def _retrain() -> dict[str, Any]:
    """Run one retraining against the configured database; its figures."""
    from bot.services.cases import learning
    from models import utcnow

    async def _run(sessions: async_sessionmaker[AsyncSession]) -> learning.Outcome:
        return await learning.retrain(sessions, now=utcnow())

    outcome = with_sessions(settings_or_exit(), _run)
    return {
        "top1_before": round(outcome.before, 4),
        "top1_after": round(outcome.after, 4),
        "adopted": outcome.adopted,
        "corrections": outcome.corrections,
        "examples": outcome.examples,
    }
