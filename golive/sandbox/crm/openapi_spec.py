"""The OpenAPI 3.1 document the CRM double serves at `/api/public/v1/openapi.json`: data, not code.
Longer than most modules because it is one document (~20 operations).

Re-derived from LagostaCRM's own definition of its public API (`lib/public-api/openapi.ts`, its 17
paths, and the routes under `app/api/public/v1/`): the paths, parameters, schemas and envelopes
are theirs. Where the real `openapi.ts` says less than its routes do (request bodies typed only
`object`, only 200/401 documented), the bodies are the routes' own validation (their zod schemas)
and the statuses the routes answer. Where the v2 contract (crm-contract §5) intends what the real
CRM does not yet do, the document follows the contract and says so in a description that starts
"golive v2 contract:" (e.g. `ai_summary` on moves, 409 AMBIGUOUS_MATCH, the identifier routes).
Where the double is stricter than the real route on hostile input (text lengths, NUL bytes), the
description starts "golive:".

The double validates request bodies and query strings against this document (`api_validation`),
so what it accepts and what it documents cannot drift apart.
"""

from __future__ import annotations

from typing import Any

API_PREFIX = "/api/public/v1"
# RFC-4122 v1–v5 with its variant (crm-contract §5.1); the nil uuid is not one.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
BLANK_PATTERN = r"^\s*$"
NOT_BLANK_PATTERN = r"\S"
CHANNELS = ["whatsapp", "instagram", "messenger", "telegram", "email", "sms", "other"]
MAX_TEXT = 10_000
AMOUNT_BOUND = 1e15  # golive: amounts beyond this are refused (a JS number loses cents past it)
V2 = "golive v2 contract: "
BOUNDED = "golive: bounded so hostile input gets a 4xx (the real route has no limit). "

JsonObject = dict[str, Any]


# --------------------------------------------------------------------------- building blocks


def _text(max_length: int = MAX_TEXT, **extra: Any) -> JsonObject:
    return {"type": "string", "maxLength": max_length, **extra}


def _uuid(description: str | None = None) -> JsonObject:
    schema: JsonObject = {"type": "string", "pattern": UUID_PATTERN}
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: JsonObject) -> JsonObject:
    return {"anyOf": [schema, {"type": "null"}]}


def _or_blank(schema: JsonObject) -> JsonObject:
    """n8n renders a missing field as "" (the real route reads a blank value as absent)."""
    return {"anyOf": [schema, {"type": "string", "pattern": BLANK_PATTERN, "maxLength": 100}]}


def _object(properties: JsonObject, required: list[str] | None = None, **extra: Any) -> JsonObject:
    schema: JsonObject = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def _one_of_present(*fields: str, patterns: dict[str, str] | None = None) -> JsonObject:
    """At least one of `fields` is present and not blank (a zod `.refine` of the route)."""
    patterns = patterns or {}
    return {
        "anyOf": [
            {"required": [f], "properties": {f: {"pattern": patterns.get(f, NOT_BLANK_PATTERN)}}}
            for f in fields
        ]
    }


def _ref(name: str) -> JsonObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: JsonObject, description: str = "OK") -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _data(name: str, description: str = "OK", *, actions: list[str] | None = None) -> JsonObject:
    properties: JsonObject = {"data": _ref(name)}
    required = ["data"]
    if actions:
        properties["action"] = {"type": "string", "enum": actions}
        required.append("action")
    return _json(_object(properties, required), description)


def _page(name: str) -> JsonObject:
    return _json(
        _object(
            {"data": {"type": "array", "items": _ref(name)}, "nextCursor": {"type": ["string", "null"]}},
            ["data", "nextCursor"],
        )
    )


def _error(name: str) -> JsonObject:
    return {"$ref": f"#/components/responses/{name}"}


def _path_id(name: str, what: str) -> JsonObject:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _uuid(),
        "description": f"UUID of the {what} (v1–v5; anything else: 422 Invalid {what} id)",
    }


BOARD_PARAM: JsonObject = {
    "name": "boardKeyOrId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "The board's key (slug) or its UUID",
}


def _query(name: str, schema: JsonObject | None = None, description: str | None = None) -> JsonObject:
    param: JsonObject = {"name": name, "in": "query", "schema": schema or {"type": "string"}}
    if description:
        param["description"] = description
    return param


PAGING = [
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 250},
        "Page size (default 50). golive: out of range or not an integer is a 422 "
        "(the real route clamps it into 1–250 although its spec declares the range).",
    ),
    _query("cursor", description="Opaque cursor (an invalid one restarts at the first page)"),
]


def _operation(
    tag: str,
    summary: str,
    responses: JsonObject,
    *,
    parameters: list[JsonObject] | None = None,
    body: JsonObject | None = None,
    body_required: bool = True,
    description: str | None = None,
    errors: tuple[str, ...] = (),
) -> JsonObject:
    op: JsonObject = {"tags": [tag], "summary": summary, "security": [{"ApiKeyAuth": []}]}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    all_errors = ["BadRequest", "Unauthorized", "ValidationError", *errors]
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
        all_errors += ["PayloadTooLarge", "UnsupportedMediaType"]
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "NotFound": "404",
        "Conflict": "409",
        "PayloadTooLarge": "413",
        "UnsupportedMediaType": "415",
        "ValidationError": "422",
    }
    op["responses"] = {**responses, **{codes[e]: _error(e) for e in all_errors}}
    return op


# --------------------------------------------------------------------------- schemas

ERROR = _object(
    {
        "error": {"type": "string"},
        "code": {
            "type": "string",
            "enum": [
                "AUTH_MISSING",
                "AUTH_INVALID",
                "VALIDATION_ERROR",
                "BAD_REQUEST",
                "NOT_FOUND",
                "DB_ERROR",
                "IDENTIFIER_CONFLICT",
                "HAS_DEALS",
                "SERVER_NOT_CONFIGURED",
                "AMBIGUOUS_MATCH",
            ],
        },
        "existing_contact_id": {"type": "string", "description": "IDENTIFIER_CONFLICT: the owner"},
        "deal_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": V2 + "AMBIGUOUS_MATCH: the open deals the identity matches",
        },
    },
    ["error"],
)

BOARD = _object(
    {
        "id": {"type": "string", "description": "UUID do board"},
        "key": {"type": ["string", "null"], "description": "Slug estável (integrações)"},
        "name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "position": {"type": "integer"},
        "is_default": {"type": "boolean"},
    },
    ["id", "key", "name", "description", "position", "is_default"],
)

BOARD_STAGE = _object(
    {
        "id": {"type": "string", "description": "UUID do estágio"},
        "label": {"type": "string"},
        "color": {"type": ["string", "null"]},
        "order": {"type": "integer"},
    },
    ["id", "label", "color", "order"],
)

COMPANY = _object(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "website": {"type": ["string", "null"]},
        "industry": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
        "updated_at": {"type": ["string", "null"]},
    },
    ["id", "name", "website", "industry", "created_at", "updated_at"],
)

_CONTACT_NULLABLE_TEXT = (
    "email",
    "phone",
    "role",
    "company_name",
    "client_company_id",
    "avatar",
    "source",
    "notes",
    "status",
    "stage",
    "birth_date",
    "last_interaction",
    "last_purchase_date",
)
CONTACT = _object(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        **{field: {"type": ["string", "null"]} for field in _CONTACT_NULLABLE_TEXT},
        "total_value": {"type": ["number", "null"]},
        "created_at": {"type": "string"},
        "updated_at": {"type": ["string", "null"]},
    },
    ["id", "name", *_CONTACT_NULLABLE_TEXT, "total_value", "created_at", "updated_at"],
)

DEAL = _object(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "value": {"type": "number"},
        "board_id": {"type": "string"},
        "stage_id": {"type": "string"},
        "contact_id": {"type": "string"},
        "client_company_id": {"type": ["string", "null"]},
        "is_won": {"type": "boolean"},
        "is_lost": {"type": "boolean"},
        "loss_reason": {"type": ["string", "null"]},
        "closed_at": {"type": ["string", "null"]},
        "ai_summary": {
            "type": ["string", "null"],
            "description": V2 + "the agent's summary, returned by every deal answer (the real GET "
            "/deals returns it although its Deal schema does not list it)",
        },
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
    },
    [
        "id",
        "title",
        "value",
        "board_id",
        "stage_id",
        "contact_id",
        "client_company_id",
        "is_won",
        "is_lost",
        "loss_reason",
        "closed_at",
        "ai_summary",
        "created_at",
        "updated_at",
    ],
)

ACTIVITY = _object(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "type": {"type": "string"},
        "date": {"type": "string"},
        "completed": {"type": "boolean"},
        "deal_id": {"type": ["string", "null"]},
        "contact_id": {"type": ["string", "null"]},
        "client_company_id": {"type": ["string", "null"]},
        "metadata": {
            "type": "object",
            "description": "golive: the real route returns it; its spec's Activity omits it",
        },
        "created_at": {"type": "string"},
    },
    [
        "id",
        "title",
        "description",
        "type",
        "date",
        "completed",
        "deal_id",
        "contact_id",
        "client_company_id",
        "metadata",
        "created_at",
    ],
)

IDENTIFIER = _object(
    {
        "id": {"type": "string"},
        "channel": {"type": "string", "enum": CHANNELS},
        "identifier": {"type": "string"},
        "is_primary": {"type": "boolean"},
        "metadata": {"type": "object"},
        "created_at": {"type": "string"},
        "updated_at": {"type": ["string", "null"]},
    },
    ["id", "channel", "identifier", "is_primary", "metadata", "created_at", "updated_at"],
)

_DATE = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
_AMOUNT = {"type": "number", "minimum": -AMOUNT_BOUND, "maximum": AMOUNT_BOUND}

CONTACT_FIELDS: JsonObject = {
    "name": _text(255),
    "email": _text(
        320,
        format="email",
        description="Matched lower-cased; an upsert finds the contact by it. golive: a well-formed "
        "address (the real route takes any text)",
    ),
    "phone": _text(64, description="E.164 or a Brazilian number (default country BR)"),
    "role": _text(),
    "company_name": _text(),
    "client_company_id": _uuid(),
    "avatar": _text(),
    "status": _text(),
    "stage": _text(),
    "birth_date": {**_DATE, "description": "YYYY-MM-DD"},
    "last_interaction": {**_DATE, "description": "ISO timestamp"},
    "last_purchase_date": {**_DATE, "description": "YYYY-MM-DD"},
    "total_value": _AMOUNT,
    "source": _text(),
    "notes": _text(),
}

CONTACT_UPSERT = _object(
    CONTACT_FIELDS,
    description="Upsert on a live contact matched by email, else by phone (any stored format). "
    "Found: the fields sent are updated, the others kept (" + V2 + "the real route nulls every "
    "field not sent, crm-contract §7 #9). New: needs a name (422 Name is required to create a new "
    "contact). Neither a usable email nor a real phone number: 422 Provide email or phone.",
    **_one_of_present("email", "phone"),
)

CONTACT_PATCH = _object(
    {
        **CONTACT_FIELDS,
        "client_company_id": _nullable(_uuid()),
        "birth_date": _nullable(_DATE),
        "last_interaction": _nullable(_DATE),
        "last_purchase_date": _nullable(_DATE),
        "total_value": _nullable(_AMOUNT),
    }
)

MOVE_TARGET: JsonObject = {
    "to_stage_id": _uuid("UUID of the target stage (wins over the label)"),
    "to_stage_label": _text(
        255, minLength=1, description="Label of the target stage (case-insensitive, exact)"
    ),
    "mark": {
        "type": "string",
        "enum": ["won", "lost"],
        "description": "Optional: marks the deal won/lost whatever the stage",
    },
    "ai_summary": _text(
        description=V2 + "stored on the deal (the real by-deal-id move refuses it, crm-contract §7 #8)"
    ),
}
TARGET_GIVEN = _one_of_present("to_stage_id", "to_stage_label")

MOVE_BY_IDENTITY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["board_key_or_id"],
    "properties": {
        "board_key_or_id": _text(200, minLength=1, description="Key (slug) or UUID of the board"),
        "phone": _or_blank(_text(64, description="E.164 or a Brazilian number")),
        "email": _or_blank(_text(320)),
        "channel": _or_blank({"type": "string", "enum": CHANNELS}),
        "identifier": _or_blank(_text(256)),
        "contact_id": _or_blank(_uuid()),
        "to_stage_id": _or_blank(MOVE_TARGET["to_stage_id"]),
        "to_stage_label": _or_blank(MOVE_TARGET["to_stage_label"]),
        "mark": _or_blank(MOVE_TARGET["mark"]),
        "ai_summary": _or_blank(_text()),
        "allow_cross_board": {"type": "boolean"},
    },
    "allOf": [
        {
            "anyOf": [
                *_one_of_present("contact_id", patterns={"contact_id": UUID_PATTERN})["anyOf"],
                *_one_of_present("phone", "email")["anyOf"],
                {
                    "required": ["channel", "identifier"],
                    "properties": {
                        "channel": {"enum": CHANNELS},
                        "identifier": {"pattern": NOT_BLANK_PATTERN},
                    },
                },
            ]
        },
        _one_of_present("to_stage_id", "to_stage_label", patterns={"to_stage_id": UUID_PATTERN}),
    ],
}

MOVE_BY_DEAL_ID = _object(
    {"deal_id": _uuid("UUID of the deal"), **MOVE_TARGET}, ["deal_id"], allOf=[TARGET_GIVEN]
)
MOVE_LEGACY_BY_IDENTITY = _object(
    {
        "board_key_or_id": _text(200, minLength=1, description="Key (slug) or UUID of the board"),
        "phone": _text(64, description="E.164 or a Brazilian number"),
        "email": _text(320),
        **MOVE_TARGET,
    },
    ["board_key_or_id"],
    allOf=[TARGET_GIVEN, _one_of_present("phone", "email")],
)

DEAL_CREATE = _object(
    {
        "title": _text(500, minLength=1),
        "value": _AMOUNT,
        "board_id": _uuid(),
        "board_key": _text(200, minLength=1),
        "stage_id": _uuid("The first stage of the board when absent"),
        "contact_id": _uuid(),
        "contact": _object(
            {
                "name": _text(255),
                "email": _text(320, format="email"),
                "phone": _text(64),
                "role": _text(),
                "client_company_id": _uuid(),
            },
            description="Upserted as by POST /contacts, then used",
        ),
        "client_company_id": _uuid(),
    },
    ["title"],
    description="An open deal of the contact on the board already exists: 200 `existing`; else 201 "
    "`created`. 422 when the board, its stages or the contact are missing; " + V2 + "a contact of "
    "another organisation is a 422 and two open deals answer `existing` (the real route: FK 500, a "
    "deal across tenants, or 500, crm-contract §7 #11).",
)

DEAL_PATCH = _object(
    {
        "title": _text(500),
        "value": _AMOUNT,
        "contact_id": _uuid(),
        "client_company_id": _nullable(_uuid()),
        "loss_reason": _nullable(_text()),
    }
)

ACTIVITY_CREATE = _object(
    {
        "type": _text(100, minLength=1, pattern=NOT_BLANK_PATTERN),
        "title": _text(500, minLength=1, pattern=NOT_BLANK_PATTERN),
        "description": _text(),
        # the route's zod schema takes any string here; a string `new Date()` cannot read is
        # then refused with its own message, "Invalid date"
        "date": {
            "type": "string",
            "description": "ISO timestamp (default: now); unreadable: 422 Invalid date",
        },
        "deal_id": _uuid(),
        "contact_id": _uuid(),
        "client_company_id": _uuid(),
        "metadata": {
            "type": "object",
            "properties": {
                "party_size": {"type": "integer", "minimum": 1, "maximum": 100_000},
                "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 100_000},
                "area_id": _text(255, minLength=1),
                "status": {
                    "type": "string",
                    "enum": ["confirmed", "canceled", "rescheduled", "completed", "pending", "rejected"],
                },
                "chatwoot_conversation_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "channel": {"type": "string", "enum": ["WHATSAPP", "INSTAGRAM"]},
            },
        },
    },
    ["type", "title"],
)

COMPANY_FIELDS: JsonObject = {"name": _text(255), "website": _text(1000), "industry": _text(255)}
COMPANY_UPSERT = _object(COMPANY_FIELDS, **_one_of_present("website", "name"))
COMPANY_PATCH = _object(
    {**COMPANY_FIELDS, "website": _nullable(_text(1000)), "industry": _nullable(_text(255))}
)

IDENTIFIER_CREATE = _object(
    {
        "channel": {"type": "string", "enum": CHANNELS},
        "identifier": _text(256, minLength=1, pattern=NOT_BLANK_PATTERN),
        "is_primary": {"type": "boolean"},
        "metadata": {"type": "object"},
    },
    ["channel", "identifier"],
)


def _error_response(description: str, examples: JsonObject | None = None) -> JsonObject:
    content: JsonObject = {"schema": _ref("ErrorResponse")}
    if examples:
        content["examples"] = {k: {"value": v} for k, v in examples.items()}
    return {"description": description, "content": {"application/json": content}}


RESPONSES: JsonObject = {
    "Unauthorized": _error_response(
        "API key ausente ou inválida",
        {
            "missing": {"error": "Missing X-Api-Key", "code": "AUTH_MISSING"},
            "invalid": {"error": "Invalid API key", "code": "AUTH_INVALID"},
        },
    ),
    "BadRequest": _error_response("The body is not JSON, or the URL is not UTF-8 once decoded"),
    "NotFound": _error_response("No such record in the key's organisation"),
    "Conflict": _error_response("The request conflicts with the organisation's data"),
    "PayloadTooLarge": _error_response("golive: bodies over 1 MB are refused"),
    "UnsupportedMediaType": _error_response("The body is not application/json"),
    "ValidationError": _error_response(
        "Invalid payload, parameter or path id (the real routes answer 422 VALIDATION_ERROR); "
        "golive: also text no database column can hold (NUL bytes, lone surrogates)",
        {"invalid": {"error": "Invalid payload", "code": "VALIDATION_ERROR"}},
    ),
}


# --------------------------------------------------------------------------- links (stateful)


def _link(operation: str, parameters: JsonObject, description: str) -> JsonObject:
    return {"operationId": operation, "parameters": parameters, "description": description}


_CONTACT_LINKS = {
    "GetContact": _link("getContact", {"contactId": "$response.body#/data/id"}, "The contact"),
    "PatchContact": _link("patchContact", {"contactId": "$response.body#/data/id"}, "Update it"),
    "ListIdentifiers": _link("listIdentifiers", {"contactId": "$response.body#/data/id"}, "Its identifiers"),
    "AddIdentifier": _link("addIdentifier", {"contactId": "$response.body#/data/id"}, "Add one"),
}
_DEAL_ID = {"dealId": "$response.body#/data/id"}
_DEAL_LINKS = {
    "GetDeal": _link("getDeal", _DEAL_ID, "The deal"),
    "PatchDeal": _link("patchDeal", _DEAL_ID, "Update it"),
    "MoveDeal": _link("moveDealStage", _DEAL_ID, "Move it"),
    "MarkWon": _link("markDealWon", _DEAL_ID, "Win it"),
    "MarkLost": _link("markDealLost", _DEAL_ID, "Lose it"),
}
_COMPANY_LINKS = {
    "GetCompany": _link("getCompany", {"companyId": "$response.body#/data/id"}, "The company"),
    "PatchCompany": _link("patchCompany", {"companyId": "$response.body#/data/id"}, "Update it"),
}


def _with_links(response: JsonObject, links: JsonObject) -> JsonObject:
    return {**response, "links": links}


# --------------------------------------------------------------------------- paths


def _paths() -> JsonObject:
    contact_id = _path_id("contactId", "contact")
    deal_id = _path_id("dealId", "deal")
    company_id = _path_id("companyId", "company")
    created_contact = _data("Contact", "Created", actions=["created"])
    updated_contact = _data("Contact", "Updated", actions=["updated"])
    moved = _with_links(_data("Deal", "Moved", actions=["moved"]), _DEAL_LINKS)
    return {
        "/openapi.json": {
            "get": {
                "tags": ["Meta"],
                "summary": "OpenAPI document (JSON)",
                "description": "Documento OpenAPI 3.1.2 desta API.",
                "operationId": "getOpenApi",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI document")},
            }
        },
        "/me": {
            "get": {
                **_operation(
                    "Meta",
                    "Identidade da API key",
                    {
                        "200": _json(
                            _object(
                                {
                                    "data": _object(
                                        {
                                            "organization_id": {"type": "string"},
                                            "organization_name": {"type": "string"},
                                            "api_key_prefix": {"type": "string"},
                                        },
                                        ["organization_id", "organization_name", "api_key_prefix"],
                                    )
                                },
                                ["data"],
                            )
                        )
                    },
                ),
                "operationId": "getMe",
            }
        },
        "/boards": {
            "get": {
                **_operation(
                    "Boards",
                    "Listar boards (pipelines)",
                    {"200": _page("Board")},
                    parameters=[
                        _query("q", description="Busca por name/key"),
                        _query("key", description="Filtro exato por key"),
                        *PAGING,
                    ],
                ),
                "operationId": "listBoards",
            }
        },
        "/boards/{boardKeyOrId}": {
            "get": {
                **_operation(
                    "Boards",
                    "Obter board por key ou id",
                    {"200": _data("Board")},
                    parameters=[BOARD_PARAM],
                    errors=("NotFound",),
                ),
                "operationId": "getBoard",
            }
        },
        "/boards/{boardKeyOrId}/stages": {
            "get": {
                **_operation(
                    "Boards",
                    "Listar etapas do board",
                    {
                        "200": _json(
                            _object({"data": {"type": "array", "items": _ref("BoardStage")}}, ["data"])
                        )
                    },
                    parameters=[BOARD_PARAM],
                    errors=("NotFound",),
                ),
                "operationId": "listBoardStages",
            }
        },
        "/companies": {
            "get": {
                **_operation(
                    "Companies",
                    "Listar empresas",
                    {"200": _page("Company")},
                    parameters=[_query("q"), _query("name"), _query("website"), *PAGING],
                ),
                "operationId": "listCompanies",
            },
            "post": {
                **_operation(
                    "Companies",
                    "Criar/atualizar empresa (upsert)",
                    {
                        "201": _with_links(_data("Company", "Created", actions=["created"]), _COMPANY_LINKS),
                        "200": _with_links(_data("Company", "Updated", actions=["updated"]), _COMPANY_LINKS),
                    },
                    body=COMPANY_UPSERT,
                    description="Upsert on a live company matched by website, else by name "
                    "(case-insensitive). A new company needs a name (422 Name is required to "
                    "create a new company).",
                ),
                "operationId": "upsertCompany",
            },
        },
        "/companies/{companyId}": {
            "get": {
                **_operation(
                    "Companies",
                    "Obter empresa",
                    {"200": _data("Company")},
                    parameters=[company_id],
                    errors=("NotFound",),
                ),
                "operationId": "getCompany",
            },
            "patch": {
                **_operation(
                    "Companies",
                    "Atualizar empresa",
                    {"200": _data("Company")},
                    parameters=[company_id],
                    body=COMPANY_PATCH,
                    errors=("NotFound",),
                ),
                "operationId": "patchCompany",
            },
        },
        "/contacts": {
            "get": {
                **_operation(
                    "Contacts",
                    "Listar contatos",
                    {"200": _page("Contact")},
                    parameters=[
                        _query("q"),
                        _query("email"),
                        _query(
                            "phone",
                            description=V2 + "matched by number, whatever format it is stored in "
                            "(the real route compares the stored text, crm-contract §7 #10)",
                        ),
                        _query("client_company_id"),
                        _query(
                            "identifier",
                            description="golive: in the real route, not in its spec. Contacts with "
                            "a live matching identifier (then phone/email are not applied)",
                        ),
                        _query("channel", description="With `identifier`: one of " + ", ".join(CHANNELS)),
                        *PAGING,
                    ],
                    description="Newest first.",
                ),
                "operationId": "listContacts",
            },
            "post": {
                **_operation(
                    "Contacts",
                    "Criar/atualizar contato (upsert)",
                    {
                        "201": _with_links(created_contact, _CONTACT_LINKS),
                        "200": _with_links(updated_contact, _CONTACT_LINKS),
                    },
                    body=CONTACT_UPSERT,
                ),
                "operationId": "upsertContact",
            },
        },
        "/contacts/{contactId}": {
            "get": {
                **_operation(
                    "Contacts",
                    "Obter contato",
                    {"200": _data("Contact")},
                    parameters=[contact_id],
                    errors=("NotFound",),
                ),
                "operationId": "getContact",
            },
            "patch": {
                **_operation(
                    "Contacts",
                    "Atualizar contato",
                    {"200": _data("Contact")},
                    parameters=[contact_id],
                    body=CONTACT_PATCH,
                    errors=("NotFound",),
                    description="Blank name, email or phone are left as they are.",
                ),
                "operationId": "patchContact",
            },
        },
        "/contacts/{contactId}/identifiers": {
            "get": {
                **_operation(
                    "Contacts",
                    "Listar identificadores do contato",
                    {
                        "200": _json(
                            _object({"data": {"type": "array", "items": _ref("Identifier")}}, ["data"])
                        )
                    },
                    parameters=[contact_id],
                    errors=("NotFound",),
                    description=V2 + "a route of the real CRM its spec does not list; primary first.",
                ),
                "operationId": "listIdentifiers",
            },
            "post": {
                **_operation(
                    "Contacts",
                    "Adicionar identificador ao contato",
                    {"201": _data("Identifier", "Added (also when sent again)")},
                    parameters=[contact_id],
                    body=IDENTIFIER_CREATE,
                    errors=("NotFound", "Conflict"),
                    description=V2 + "upsert on (organisation, channel, identifier); live on "
                    "another contact: 409 IDENTIFIER_CONFLICT with existing_contact_id; a new "
                    "primary demotes the old one.",
                ),
                "operationId": "addIdentifier",
            },
        },
        "/deals": {
            "get": {
                **_operation(
                    "Deals",
                    "Listar deals",
                    {"200": _page("Deal")},
                    parameters=[
                        _query("q"),
                        _query("board_id"),
                        _query("board_key"),
                        _query("stage_id"),
                        _query("contact_id"),
                        _query("client_company_id"),
                        _query("status", {"type": "string", "enum": ["open", "won", "lost"]}),
                        _query(
                            "updated_after",
                            {"type": "string", "format": "date-time"},
                            "ISO timestamp",
                        ),
                        *PAGING,
                    ],
                    description="Most recently updated first. An id filter that is not a UUID "
                    "filters nothing (as the real route); an unknown board key matches no deal.",
                ),
                "operationId": "listDeals",
            },
            "post": {
                **_operation(
                    "Deals",
                    "Criar deal",
                    {
                        "201": _with_links(_data("Deal", "Created", actions=["created"]), _DEAL_LINKS),
                        "200": _with_links(
                            _data("Deal", "The contact's open deal on the board", actions=["existing"]),
                            _DEAL_LINKS,
                        ),
                    },
                    body=DEAL_CREATE,
                    errors=("Conflict",),
                ),
                "operationId": "createDeal",
            },
        },
        "/deals/{dealId}": {
            "get": {
                **_operation(
                    "Deals",
                    "Obter deal",
                    {"200": _data("Deal")},
                    parameters=[deal_id],
                    errors=("NotFound",),
                ),
                "operationId": "getDeal",
            },
            "patch": {
                **_operation(
                    "Deals",
                    "Atualizar deal",
                    {"200": _data("Deal")},
                    parameters=[deal_id],
                    body=DEAL_PATCH,
                    errors=("NotFound", "Conflict"),
                ),
                "operationId": "patchDeal",
            },
        },
        "/deals/{dealId}/move-stage": {
            "post": {
                **_operation(
                    "Deals",
                    "Mover etapa do deal",
                    {"200": moved},
                    parameters=[deal_id],
                    body=_object(MOVE_TARGET, allOf=[TARGET_GIVEN]),
                    errors=("NotFound", "Conflict"),
                    description="Moves exactly this deal. 422 Stage not found for this board / "
                    "Ambiguous stage label for this board; 409 when its contact already has another "
                    "open deal in that stage (" + V2 + "the real route answers 500, crm-contract §7 "
                    "#13). The board's won/lost stage, or `mark`, closes the deal.",
                ),
                "operationId": "moveDealStage",
            }
        },
        "/deals/move-stage-by-identity": {
            "post": {
                **_operation(
                    "Deals",
                    "Mover etapa do deal por identidade (sem UUID)",
                    {"200": moved},
                    body=MOVE_BY_IDENTITY,
                    errors=("NotFound", "Conflict"),
                    description="Resolves the contact by contact_id, else channel + identifier, "
                    "else phone/email, then its open deal on the board (any board with "
                    "allow_cross_board). None: 404 Deal not found for this identity. "
                    + V2
                    + "more than one: 409 AMBIGUOUS_MATCH with deal_ids, nothing moves (the real "
                    "route silently moves the most recently updated one, crm-contract §7 #2).",
                ),
                "operationId": "moveDealStageByIdentity",
            }
        },
        "/deals/move-stage": {
            "post": {
                **_operation(
                    "Deals",
                    "Mover etapa do deal (UUID ou telefone/email)",
                    {"200": moved},
                    body={"oneOf": [MOVE_BY_DEAL_ID, MOVE_LEGACY_BY_IDENTITY]},
                    errors=("NotFound", "Conflict"),
                    description="Moves via `deal_id`, or via `board_key_or_id` + `phone`/`email` "
                    "with the identity rules of move-stage-by-identity (409 AMBIGUOUS_MATCH).",
                ),
                "operationId": "moveDealStageLegacy",
            }
        },
        "/deals/{dealId}/mark-won": {
            "post": {
                **_operation(
                    "Deals",
                    "Marcar como ganho",
                    {"200": _data("Deal", actions=["won"])},
                    parameters=[deal_id],
                    errors=("NotFound",),
                ),
                "operationId": "markDealWon",
            }
        },
        "/deals/{dealId}/mark-lost": {
            "post": {
                **_operation(
                    "Deals",
                    "Marcar como perdido",
                    {"200": _data("Deal", actions=["lost"])},
                    parameters=[deal_id],
                    body=_object({"loss_reason": _text()}),
                    body_required=False,
                    errors=("NotFound",),
                ),
                "operationId": "markDealLost",
            }
        },
        "/activities": {
            "get": {
                **_operation(
                    "Activities",
                    "Listar atividades",
                    {"200": _page("Activity")},
                    parameters=[
                        _query("deal_id"),
                        _query("contact_id"),
                        _query("client_company_id"),
                        _query("type"),
                        *PAGING,
                    ],
                    description="Newest `date` first; an id filter that is not a UUID filters "
                    "nothing (as the real route).",
                ),
                "operationId": "listActivities",
            },
            "post": {
                **_operation(
                    "Activities",
                    "Criar atividade",
                    {"201": _data("Activity", "Created", actions=["created"])},
                    body=ACTIVITY_CREATE,
                    description="golive: a deal_id or contact_id must be live in the key's "
                    "organisation (422 Deal not found / Contact not found); the real route stores "
                    "it unchecked. The `meeting` confirmation mode is not modelled.",
                ),
                "operationId": "createActivity",
            },
        },
    }


def openapi_document() -> JsonObject:
    """The whole document (a new dict each call)."""
    return {
        "openapi": "3.1.2",
        "info": {
            "title": "NossoCRM Public API",
            "version": "v1",
            "description": "API pública do NossoCRM para integrações (n8n/Make). Served by golive's "
            "sandbox CRM double: LagostaCRM's own definition, with the intended v2 behaviour "
            "(crm-contract §5) where it differs; such places say 'golive v2 contract:'.",
        },
        "servers": [{"url": API_PREFIX}],
        "tags": [
            {"name": "Meta", "description": "Sobre a API e autenticação"},
            {"name": "Boards", "description": "Pipelines/boards e etapas"},
            {"name": "Companies", "description": "Empresas (clientes do CRM)"},
            {"name": "Contacts", "description": "Contatos (leads/pessoas)"},
            {"name": "Deals", "description": "Negócios (cards)"},
            {"name": "Activities", "description": "Atividades (nota/tarefa/reunião/ligação)"},
        ],
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "Chave gerada na interface (Settings → Integrações).",
                }
            },
            "schemas": {
                "ErrorResponse": ERROR,
                "Board": BOARD,
                "BoardStage": BOARD_STAGE,
                "Company": COMPANY,
                "Contact": CONTACT,
                "Deal": DEAL,
                "Activity": ACTIVITY,
                "Identifier": IDENTIFIER,
            },
            "responses": RESPONSES,
        },
        "paths": _paths(),
    }
