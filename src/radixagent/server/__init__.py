"""The radixagent server: OpenAI-compatible chat completions with valid tool calls, agent
sessions, and operations endpoints (see docs/serving.md).

    radixagent serve --engine embedded --port 8000
    app = create_app(engine=..., store=..., tools=...)    # to mount or test it yourself

FastAPI and uvicorn come with the `server` extra (`pip install 'radixagent[server]'`); without
them, importing this package raises `ConfigurationError` saying so.
"""

from radixagent.extras import requires_extra

with requires_extra("server", "The HTTP server (radixagent serve, radixagent.server)"):
    import fastapi  # noqa: F401
    import jinja2  # noqa: F401  # the dashboard's templates
    import uvicorn  # noqa: F401

from radixagent.server.app import create_app
from radixagent.server.config import ServerSettings
from radixagent.server.serve import BackgroundServer, DrainingServer, build_server, serve

__all__ = ["BackgroundServer", "DrainingServer", "ServerSettings", "build_server", "create_app", "serve"]
