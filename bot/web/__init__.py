"""The HTTP app: the web chat (page, API, live pushes), health and metrics, channel routers."""

from bot.web.app import create_app, serve

__all__ = ["create_app", "serve"]
