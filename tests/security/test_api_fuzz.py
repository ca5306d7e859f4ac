"""Schemathesis over the OpenAPI schema, with a token of every role: no 500, no response outside the schema.

Every operation gets valid (positive) and invalid (negative) requests; each request carries the token
of a role hypothesis picks, so admins reach the deep paths and operators, viewers and hospital
liaisons meet the refusals. PRINTFARM_FUZZ_EXAMPLES raises the examples per operation and mode.
"""

from __future__ import annotations

import os

import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from support.world import PRINTER_KEY, seed

EXAMPLES = int(os.environ.get("PRINTFARM_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def _first_line(err: BaseException) -> str:
    inner = getattr(err, "exceptions", None)
    shown = inner[0] if inner else err
    return f"{type(shown).__name__}: {str(shown).strip().splitlines()[0] if str(shown).strip() else ''}"


def test_every_operation_with_every_role_stays_inside_the_schema(new_world) -> None:
    world = seed(new_world())
    world.fleet.add("http://spare.invalid", PRINTER_KEY)
    world.dispatch()  # a job exists, so job routes reach their state machine
    roles = sorted(world.tokens)
    token_ids = [world.ok(role, "GET", "/api/me")["token_id"] for role in roles]
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [op.label for op in operations]

    def keep_tokens_valid() -> None:
        # An admin example may revoke any token id, the fuzzing tokens included.
        with world.services.db.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE api_tokens SET revoked_at = NULL WHERE id IN (%s)" % ",".join(map(str, token_ids)))
            )

    failures: list[str] = []
    calls = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode), role=st.sampled_from(roles))
            def run(case, role: str) -> None:
                nonlocal calls
                calls += 1
                keep_tokens_valid()
                response = case.call(headers=world.headers(role))
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as err:  # collect every operation's finding, then fail once
                failures.append(f"{operation.label} [{mode.value}]: {_first_line(err)}")
    assert calls >= len(operations)
    assert not failures, f"{len(failures)} operations broke the schema or answered 500:\n" + "\n".join(failures)
