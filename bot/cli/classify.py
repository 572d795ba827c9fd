"""`redgrid classify TEXT`: suggest categories for a resident's text, as JSON."""

from __future__ import annotations

import json

import typer


def classify(
    text: str = typer.Argument(..., help="The resident's text, Chinese or English."),
    top: int = typer.Option(3, "--top", min=1, max=14, help="How many candidates to print."),
) -> None:
    """Print the suggested category and the top candidates as JSON."""
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
