"""The agent-run benchmark's tool sets: the tutorial's five tools, registered as its cell 19
does, and five sets of plain Python functions over fixed data.

Every plain function is deterministic (fixed tables, fixed rates), so a task's label can name
the fact its answer must contain. The tutorial's `retrieve_documents` searches a store seeded
with `DOCUMENTS` and `execute_code` runs Python, both deterministic too; its sentiment,
summary and translation tools ask the model, so their tasks' facts are read from what the tool
returned in the run (see scoring.py).

    toolset("weather", engine)      # -> the tools to give Agent(engine, tools=...)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date as Date
from typing import Any, Literal

from radixagent.engine import Engine
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.tools.builtin import DocumentStore, builtin_tools

# --- the tutorial's tools -----------------------------------------------------------------------

CELL_19_SCHEMAS: list[ToolSchema] = [
    ToolSchema(
        name="analyze_sentiment",
        description="텍스트의 감정을 분석하여 긍정/부정/중립을 판단한다",
        parameters={
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "분석할 텍스트"},
                "language": {"type": "string", "description": "텍스트 언어", "enum": ["ko", "en", "ja", "zh"]},
            },
            "required": ["text"],
        },
        return_type="string",
        examples=[{"text": "정말 좋은 날이다", "language": "ko", "result": "긍정적"}],
    ),
    ToolSchema(
        name="retrieve_documents",
        description="문서 데이터베이스에서 관련 문서를 검색한다",
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "검색 쿼리"},
                "top_k": {"type": "integer", "description": "반환할 문서 수", "minimum": 1, "maximum": 20},
                "filter_criteria": {"type": "string", "description": "필터 조건"},
            },
            "required": ["query"],
        },
        return_type="string",
    ),
    ToolSchema(
        name="execute_code",
        description="프로그래밍 코드를 실행하고 결과를 반환한다",
        parameters={
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "실행할 코드"},
                "language": {"type": "string", "description": "프로그래밍 언어", "enum": ["python", "javascript", "java"]},
            },
            "required": ["code"],
        },
        return_type="string",
    ),
    ToolSchema(
        name="generate_summary",
        description="긴 텍스트를 지정된 길이와 스타일로 요약한다",
        parameters={
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "요약할 텍스트"},
                "max_length": {"type": "integer", "description": "최대 길이"},
                "style": {"type": "string", "description": "요약 스타일", "enum": ["concise", "detailed", "bullet_points"]},
            },
            "required": ["text"],
        },
        return_type="string",
    ),
    ToolSchema(
        name="translate_text",
        description="텍스트를 한 언어에서 다른 언어로 번역한다",
        parameters={
            "type": "object",
            "properties": {
                "text": {"type": "string", "description": "번역할 텍스트"},
                "source_lang": {"type": "string", "description": "원본 언어"},
                "target_lang": {"type": "string", "description": "대상 언어"},
            },
            "required": ["text", "source_lang", "target_lang"],
        },
        return_type="string",
    ),
]
"""The tutorial's cell 19, verbatim (tests/fixtures/tutorial_cells.py; a test keeps the two
equal): Korean descriptions only, one example, on the sentiment tool."""

DOCUMENTS: list[tuple[str, str]] = [
    (
        "Prefix Caching in SGLang",
        "SGLang keeps the KV cache of earlier requests in a radix tree, a scheme called RadixAttention. "
        "When a new prompt starts with a prefix the server has seen, those tokens are not computed again. "
        "Agents benefit most, because every step repeats the system prompt and the conversation so far.",
    ),
    (
        "Guide to Sourdough Baking",
        "A sourdough starter is a mix of flour and water that wild yeast and lactic bacteria ferment. "
        "Feed the starter daily. Dough hydration of 70 to 75 percent gives an open crumb; "
        "bake the loaf in a covered pot at 250 degrees for the first twenty minutes.",
    ),
    (
        "Honeybee Colony Collapse",
        "Beekeepers lose many colonies each winter. Varroa mites weaken the bees and spread viruses, "
        "pesticides impair foraging, and poor forage leaves hives short of pollen. "
        "Treating mites in late summer is the most effective single measure.",
    ),
    (
        "Lighthouse Keepers of Norway",
        "Until the 1990s, keepers lived at remote lighthouses along the Norwegian coast with their families. "
        "They kept the lamps lit, logged the weather and rowed to the mainland for supplies. "
        "Automation ended the profession; several stations now rent rooms to visitors.",
    ),
    (
        "Quarterly Sales Report Q3 2026",
        "Revenue grew 12 percent to 4.2 million euros in the third quarter of 2026, driven by strong demand in Asia. "
        "Customer satisfaction reached a record high and the team is delighted with the excellent results.",
    ),
]
"""The document store's fixed contents: each title is found by words only its document has."""


def tutorial_tools(engine: Engine, documents: DocumentStore | None = None) -> list[ToolDefinition]:
    """The five tools as cell 19 registers them: its schemas, with radixagent's built-in
    functions (`builtin_tools`) behind them, the store seeded with `DOCUMENTS`."""
    store = documents or DocumentStore()
    for title, text in DOCUMENTS:
        store.add_text(title, text, source=f"bench:{title}")
    functions = {t.name: t for t in builtin_tools(engine, documents=store, enable_code=True)}
    return [
        ToolDefinition(schema=schema, callable=functions[schema.name].callable, timeout_s=functions[schema.name].timeout_s)
        for schema in CELL_19_SCHEMAS
    ]


# --- weather ------------------------------------------------------------------------------------

WEATHER: dict[str, tuple[str, int, int]] = {
    "paris": ("sunny", 21, 40),
    "tokyo": ("rainy", 17, 85),
    "seoul": ("cloudy", 15, 60),
    "berlin": ("windy", 12, 55),
    "cairo": ("clear", 31, 20),
    "lima": ("foggy", 18, 80),
    "oslo": ("snowing", -3, 90),
    "sydney": ("humid", 26, 70),
}
FORECAST: dict[str, list[tuple[str, int]]] = {
    "paris": [("sunny", 22), ("showers", 18), ("cloudy", 19), ("sunny", 23), ("windy", 20)],
    "tokyo": [("rainy", 16), ("rainy", 15), ("cloudy", 18), ("sunny", 21), ("sunny", 22)],
    "seoul": [("cloudy", 14), ("sunny", 17), ("sunny", 18), ("rainy", 13), ("cloudy", 15)],
    "oslo": [("snow", -2), ("cloudy", 0), ("snow", -4), ("clear", -6), ("cloudy", -1)],
    "berlin": [("windy", 11), ("rainy", 9), ("cloudy", 10), ("sunny", 13), ("sunny", 14)],
}


def _city(city: str) -> str:
    key = " ".join(city.split()).lower()
    if key not in WEATHER:
        raise ValueError(f"no weather data for {city!r}: known cities are {', '.join(c.title() for c in WEATHER)}")
    return key


def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: the city's name, e.g. Paris
    """
    condition, celsius, humidity = WEATHER[_city(city)]
    return f"{city.strip().title()}: {condition}, {celsius} °C, humidity {humidity}%"


def get_forecast(city: str, days: int = 3) -> str:
    """Get the weather forecast for the next days in a city.

    Args:
        city: the city's name, e.g. Oslo
        days: how many days ahead, 1 to 5
    """
    key = _city(city)
    if key not in FORECAST:
        raise ValueError(f"no forecast for {city!r}: forecasts exist for {', '.join(c.title() for c in FORECAST)}")
    if not 1 <= days <= 5:
        raise ValueError(f"days must be 1 to 5, not {days}")
    parts = [f"day {i}: {condition}, {celsius} °C" for i, (condition, celsius) in enumerate(FORECAST[key][:days], 1)]
    return f"{city.strip().title()}, next {days} day{'s' if days > 1 else ''}: " + "; ".join(parts)


def celsius_to_fahrenheit(celsius: float) -> str:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit.

    Args:
        celsius: the temperature in degrees Celsius
    """
    return f"{_number(celsius)} °C = {_number(celsius * 9 / 5 + 32)} °F"


def _number(value: float) -> str:
    """At most two decimals, no trailing zeros: 3.11, 69.8, 86."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# --- currency -----------------------------------------------------------------------------------

PER_USD: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "KRW": 1385.0, "CHF": 0.88, "CAD": 1.37}
"""Fixed rates: units of each currency per US dollar."""


def _currency(code: str) -> str:
    key = code.strip().upper()
    if key not in PER_USD:
        raise ValueError(f"unknown currency {code!r}: use a three-letter code, one of {', '.join(PER_USD)}")
    return key


def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money from one currency to another at today's rate.

    Args:
        amount: how much money, in from_currency
        from_currency: three-letter code of the currency the amount is in, e.g. USD
        to_currency: three-letter code of the currency wanted, e.g. EUR
    """
    source, target = _currency(from_currency), _currency(to_currency)
    converted = amount / PER_USD[source] * PER_USD[target]
    return f"{amount:.2f} {source} = {converted:.2f} {target}"


def get_exchange_rate(from_currency: str, to_currency: str) -> str:
    """Get today's exchange rate between two currencies.

    Args:
        from_currency: three-letter code of the base currency, e.g. GBP
        to_currency: three-letter code of the quote currency, e.g. USD
    """
    source, target = _currency(from_currency), _currency(to_currency)
    return f"1 {source} = {PER_USD[target] / PER_USD[source]:.4f} {target}"


# --- orders -------------------------------------------------------------------------------------

ORDERS: dict[str, dict[str, Any]] = {
    "A-1042": {"status": "shipped on 2026-11-28 with DHL", "tracking": "DHL-7731", "items": ["USB-C cable", "65 W charger"]},
    "B-2077": {"status": "processing, not shipped yet", "tracking": None, "items": ["Espresso machine"]},
    "C-3310": {"status": "delivered on 2026-11-30", "tracking": "UPS-4410", "items": ["Hiking boots", "Wool socks"]},
    "D-5521": {"status": "shipped on 2026-12-01 with FedEx", "tracking": "FDX-9902", "items": ["Desk lamp"]},
}
PACKAGES: dict[str, str] = {
    "DHL-7731": "in transit at the Leipzig hub; expected delivery 2026-12-04",
    "UPS-4410": "delivered on 2026-11-30, left at the front door",
    "FDX-9902": "out for delivery today, expected by 18:00",
}


def _order(order_id: str) -> tuple[str, dict[str, Any]]:
    key = "".join(order_id.split()).upper().lstrip("#")
    if key not in ORDERS:
        raise ValueError(f"no order {order_id!r}: order ids look like A-1042")
    return key, ORDERS[key]


def get_order_status(order_id: str) -> str:
    """Get the shipping status of an order, with its tracking number once shipped.

    Args:
        order_id: the order's id, e.g. A-1042
    """
    key, order = _order(order_id)
    tracking = f", tracking number {order['tracking']}" if order["tracking"] else ""
    return f"Order {key}: {order['status']}{tracking}."


def get_order_items(order_id: str) -> str:
    """List the items in an order.

    Args:
        order_id: the order's id, e.g. A-1042
    """
    key, order = _order(order_id)
    items = order["items"]
    return f"Order {key} contains {len(items)} item{'s' if len(items) > 1 else ''}: {', '.join(items)}."


def track_package(tracking_number: str) -> str:
    """Track a package by its carrier's tracking number: where it is and when it arrives.

    Args:
        tracking_number: the tracking number, e.g. DHL-7731
    """
    key = "".join(tracking_number.split()).upper()
    if key not in PACKAGES:
        raise ValueError(f"no package {tracking_number!r}: tracking numbers look like DHL-7731")
    return f"Package {key}: {PACKAGES[key]}."


# --- calendar -----------------------------------------------------------------------------------

EVENTS: dict[str, list[tuple[str, int, str, str]]] = {
    "2026-12-07": [("09:00", 30, "Team stand-up", "room A1"), ("14:00", 45, "Dentist appointment", "Smile Clinic")],
    "2026-12-08": [("10:00", 60, "Budget review", "room B2"), ("16:30", 30, "Call with Mia", "phone")],
    "2026-12-09": [],
    "2026-12-10": [("12:00", 90, "Lunch with the design team", "Café Lumen")],
}
"""Events by day: start, minutes, title, place."""


def _day(date: str) -> str:
    try:
        return Date.fromisoformat(date.strip()).isoformat()
    except ValueError:
        raise ValueError(f"{date!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-07") from None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def list_events(date: str) -> str:
    """List the events in my calendar on a day.

    Args:
        date: the day, as YYYY-MM-DD
    """
    day = _day(date)
    events = EVENTS.get(day, [])
    if not events:
        return f"No events on {day}."
    return f"Events on {day}: " + "; ".join(f"{start} {title} ({minutes} min)" for start, minutes, title, _ in events) + "."


def find_free_slot(date: str, duration_minutes: int) -> str:
    """Find the first free time in my calendar on a day, between 09:00 and 18:00.

    Args:
        date: the day, as YYYY-MM-DD
        duration_minutes: how long the free time must be, in minutes
    """
    day = _day(date)
    if duration_minutes < 1:
        raise ValueError(f"duration_minutes must be positive, not {duration_minutes}")
    start = _minutes("09:00")
    for begin, minutes, _, _ in sorted(EVENTS.get(day, [])):
        if _minutes(begin) - start >= duration_minutes:
            break
        start = max(start, _minutes(begin) + minutes)
    if start + duration_minutes > _minutes("18:00"):
        return f"No free {duration_minutes}-minute slot on {day} between 09:00 and 18:00."
    return f"First free {duration_minutes}-minute slot on {day}: {_clock(start)} to {_clock(start + duration_minutes)}."


def get_event(title: str) -> str:
    """Find an event in my calendar by (part of) its title: its day, time, length and place.

    Args:
        title: words from the event's title, e.g. dentist
    """
    wanted = " ".join(title.split()).lower()
    for day, events in EVENTS.items():
        for start, minutes, name, place in events:
            if wanted and wanted in name.lower():
                return f"{name}: {day} at {start} for {minutes} minutes, {place}."
    raise ValueError(f"no event matches {title!r}")


# --- units --------------------------------------------------------------------------------------

LENGTH_M: dict[str, float] = {"km": 1000.0, "m": 1.0, "cm": 0.01, "mi": 1609.344, "ft": 0.3048, "in": 0.0254}
WEIGHT_G: dict[str, float] = {"kg": 1000.0, "g": 1.0, "lb": 453.59237, "oz": 28.349523125}
_SCALE = {"C": "°C", "F": "°F", "K": "K"}


def convert_length(value: float, from_unit: Literal["km", "m", "cm", "mi", "ft", "in"], to_unit: Literal["km", "m", "cm", "mi", "ft", "in"]) -> str:
    """Convert a length or distance between units.

    Args:
        value: the length, in from_unit
        from_unit: the unit of the value
        to_unit: the unit wanted
    """
    return f"{_number(value)} {from_unit} = {_number(value * LENGTH_M[from_unit] / LENGTH_M[to_unit])} {to_unit}"


def convert_weight(value: float, from_unit: Literal["kg", "g", "lb", "oz"], to_unit: Literal["kg", "g", "lb", "oz"]) -> str:
    """Convert a weight or mass between units.

    Args:
        value: the weight, in from_unit
        from_unit: the unit of the value
        to_unit: the unit wanted
    """
    return f"{_number(value)} {from_unit} = {_number(value * WEIGHT_G[from_unit] / WEIGHT_G[to_unit])} {to_unit}"


def convert_temperature(value: float, from_unit: Literal["C", "F", "K"], to_unit: Literal["C", "F", "K"]) -> str:
    """Convert a temperature between Celsius (C), Fahrenheit (F) and Kelvin (K).

    Args:
        value: the temperature, in from_unit
        from_unit: the scale of the value
        to_unit: the scale wanted
    """
    celsius = {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[from_unit]
    converted = {"C": celsius, "F": celsius * 9 / 5 + 32, "K": celsius + 273.15}[to_unit]
    return f"{_number(value)} {_SCALE[from_unit]} = {_number(converted)} {_SCALE[to_unit]}"


# --- the sets -----------------------------------------------------------------------------------

PLAIN_SETS: dict[str, list[Callable[..., str]]] = {
    "weather": [get_weather, get_forecast, celsius_to_fahrenheit],
    "currency": [convert_currency, get_exchange_rate],
    "orders": [get_order_status, get_order_items, track_package],
    "calendar": [list_events, find_free_slot, get_event],
    "units": [convert_length, convert_weight, convert_temperature],
}

TOOLSETS: tuple[str, ...] = ("tutorial", *PLAIN_SETS)
"""Every tool set, in the order tables show them."""


def toolset(name: str, engine: Engine) -> list[Any]:
    """The tools of set `name`, ready for `Agent(engine, tools=...)` or `ToolRegistry.register`.
    `engine` backs the tutorial's model-written tools (sentiment, summary, translation)."""
    if name == "tutorial":
        return list(tutorial_tools(engine))
    try:
        return list(PLAIN_SETS[name])
    except KeyError:
        raise ValueError(f"unknown tool set {name!r}: choose from {', '.join(TOOLSETS)}") from None
