"""OpenAI's chat completion API as typed models: the request radixagent accepts (fields
it does not use are ignored; ones it cannot honour are refused by the planner) and the
response and stream chunk shapes it answers with. The completer and the server share them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from radixagent.engine.types import Usage

# --- the request ---


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_In):
    type: Literal["text"] = "text"
    text: str


MessageContent = str | list[TextPart]


def content_text(content: MessageContent | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


class FunctionCallIn(_In):
    name: str
    arguments: str = "{}"


class ToolCallIn(_In):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class SystemMessageIn(_In):
    role: Literal["system", "developer"]
    content: MessageContent


class UserMessageIn(_In):
    role: Literal["user"]
    content: MessageContent


class AssistantMessageIn(_In):
    role: Literal["assistant"]
    content: MessageContent | None = None
    tool_calls: list[ToolCallIn] | None = None


class ToolMessageIn(_In):
    role: Literal["tool"]
    content: MessageContent
    tool_call_id: str


ChatMessageIn = Annotated[
    SystemMessageIn | UserMessageIn | AssistantMessageIn | ToolMessageIn, Field(discriminator="role")
]


class FunctionSpec(_In):
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolSpec(_In):
    type: Literal["function"] = "function"
    function: FunctionSpec


class NamedFunction(_In):
    name: str


class NamedToolChoice(_In):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["auto", "required", "none"] | NamedToolChoice


class TextFormat(_In):
    type: Literal["text"]


class JsonObjectFormat(_In):
    type: Literal["json_object"]


class JsonSchemaSpec(_In):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = "response"
    description: str = ""
    json_schema: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(_In):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")]


class StreamOptions(_In):
    include_usage: bool = False


class ChatRequest(_In):
    """An OpenAI chat completions request. Fields radixagent does not use (penalties, user,
    metadata, ...) are accepted and ignored; ones it cannot honour are refused."""

    model: str = ""
    messages: list[ChatMessageIn] = Field(min_length=1)
    tools: list[ToolSpec] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1)
    logprobs: bool | None = None


# --- the response ---


class FunctionOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionOut


class MessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCallOut] | None = None
    refusal: str | None = None


class ChoiceOut(BaseModel):
    index: int = 0
    message: MessageOut
    finish_reason: str
    logprobs: None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails

    @classmethod
    def of(cls, usage: Usage) -> UsageOut:
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cached_tokens),
        )


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    system_fingerprint: str | None = None


class FunctionDelta(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: UsageOut | None = None


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "radixagent"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut] = Field(default_factory=list)
