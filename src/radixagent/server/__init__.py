"""The radixagent server: OpenAI-compatible chat completions with valid tool calls, agent
sessions, and operations endpoints (see docs/serving.md).

    radixagent serve --engine embedded --port 8000
    app = create_app(engine=..., store=..., tools=...)    # to mount or test it yourself
"""

from radixagent.server.app import create_app
from radixagent.server.config import ServerSettings
from radixagent.server.serve import BackgroundServer, DrainingServer, build_server, serve

__all__ = ["BackgroundServer", "DrainingServer", "ServerSettings", "build_server", "create_app", "serve"]
