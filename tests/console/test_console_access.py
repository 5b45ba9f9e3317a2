"""Console access over real HTTP: sign-in, a role per route, a CSRF token on every form, and
pages that say so when the broker or the audit store cannot be reached."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from console_support import PASSWORDS, ConsoleFactory, csrf, signed_in
from starlette.routing import Route

from gateway.console.access import needed_role
from gateway.console.app import ConsoleConfig, create_app
from gateway.console.users import Role, Users, hash_password, load_users, verify_password
from gateway.errors import ConfigError

UNREACHABLE = "127.0.0.1:1"


async def test_a_visitor_who_has_not_signed_in_is_sent_to_the_sign_in_page(
    console_factory: ConsoleFactory,
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE)
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/decisions")
        events = await client.get("/events")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/decisions"
    assert events.status_code == 303


async def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(
    console_factory: ConsoleFactory,
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE)
    async with httpx.AsyncClient(base_url=base) as client:
        token = csrf((await client.get("/login")).text)
        wrong = await client.post(
            "/login", data={"csrf_token": token, "username": "carla", "password": "guess"}
        )
        unknown = await client.post(
            "/login", data={"csrf_token": token, "username": "nobody", "password": "guess"}
        )
        after = await client.get("/")

    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown user or wrong password." in wrong.text
    assert wrong.text.replace("carla", "nobody") == unknown.text.replace("carla", "nobody")
    assert after.status_code == 303


async def test_an_operator_is_refused_every_compliance_page_and_a_compliance_officer_is_not(
    console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE, audit_db=f"sqlite:///{tmp_path}/a.db")
    async with signed_in(base, "olive") as operator, signed_in(base, "carla") as compliance:
        token = csrf((await operator.get("/")).text)
        refused = [
            (await operator.get(path)).status_code
            for path in ("/register", "/decisions", "/subject", "/integrity")
        ]
        posted = await operator.post(
            "/subject", data={"csrf_token": token, "identifier": "person_id=HO-1"}
        )
        overview = await operator.get("/")
        allowed = [
            (await compliance.get(path)).status_code
            for path in ("/", "/decisions", "/subject", "/integrity")
        ]

    assert refused == [403, 403, 403, 403]
    assert posted.status_code == 403
    assert "This page is for the compliance role" in posted.text
    assert overview.status_code == 200
    assert allowed == [200, 200, 200, 200]


def test_every_route_but_sign_in_and_out_declares_the_role_it_needs(users: Users) -> None:
    app = create_app(ConsoleConfig(users=users, secret="s"))
    declared = {
        route.path: needed_role(route.endpoint) for route in app.routes if isinstance(route, Route)
    }

    assert declared.pop("/login") is None and declared.pop("/logout") is None
    assert declared == {
        "/": Role.OPERATOR,
        "/events": Role.OPERATOR,
        "/api/snapshot": Role.OPERATOR,
        "/register": Role.COMPLIANCE,
        "/decisions": Role.COMPLIANCE,
        "/subject": Role.COMPLIANCE,
        "/integrity": Role.COMPLIANCE,
    }


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/subject", {"identifier": "person_id=HO-1"}),
        ("/integrity", {"source": "topic"}),
        ("/logout", {}),
    ],
)
async def test_a_form_posted_without_the_sessions_csrf_token_is_refused(
    console_factory: ConsoleFactory, path: str, data: dict[str, str]
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE)
    async with signed_in(base, "carla") as client:
        missing = await client.post(path, data=data)
        forged = await client.post(path, data={**data, "csrf_token": "x" * 43})
        still_signed_in = await client.get("/subject")

    assert missing.status_code == forged.status_code == 403
    assert "the form has no security token" in missing.text
    assert "does not match this session" in forged.text
    assert still_signed_in.status_code == 200


async def test_signing_in_needs_the_csrf_token_of_the_sign_in_form(
    console_factory: ConsoleFactory,
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE)
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/login", data={"username": "carla", "password": PASSWORDS["carla"]}
        )
        after = await client.get("/")

    assert response.status_code == 403
    assert after.status_code == 303


async def test_pages_say_when_the_broker_and_the_audit_store_cannot_be_reached(
    console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    base = await console_factory(
        bootstrap=UNREACHABLE, audit_db=f"sqlite:///{tmp_path}/missing-dir/audit.db"
    )
    async with signed_in(base, "carla") as client:
        for _ in range(50):  # the first snapshot attempt runs in the background
            overview = await client.get("/")
            if "Cannot show the cluster" in overview.text:
                break
            await asyncio.sleep(0.1)
        decisions = await client.get("/decisions")
        register = await client.get("/register")

    assert overview.status_code == 200
    assert f"cannot reach Kafka at {UNREACHABLE}: no broker answered" in overview.text
    assert decisions.status_code == 200
    assert "The audit store cannot be read" in decisions.text
    assert "Usage is unknown: the audit store cannot be read" in register.text


async def test_the_subject_page_never_shows_the_identifier_value_it_was_given(
    console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    base = await console_factory(bootstrap=UNREACHABLE, audit_db=f"sqlite:///{tmp_path}/a.db")
    async with signed_in(base, "carla") as client:
        token = csrf((await client.get("/subject")).text)
        report = await client.post(
            "/subject", data={"csrf_token": token, "identifier": "nhs_number=9990007777"}
        )

    assert report.status_code == 200
    assert "No department has asked about this person." in report.text
    assert "nhs_number" in report.text and "9990007777" not in report.text


# --- users and passwords -----------------------------------------------------------------------


def test_a_password_hash_verifies_that_password_only() -> None:
    stored = hash_password("correct horse")

    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)
    assert not verify_password("correct horse", stored.replace("scrypt$", "bcrypt$"))
    assert hash_password("correct horse") != stored  # salted


def test_users_load_from_toml_as_from_yaml_and_a_bad_role_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "users.toml"
    good.write_text(
        f'[[users]]\nname = "ann"\nrole = "operator"\npassword_hash = "{hash_password("pw")}"\n'
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"users:\n  - {{name: bob, role: admin, password_hash: '{hash_password('p')}'}}\n"
    )

    users = load_users(good)

    assert users.authenticate("ann", "pw") is not None
    assert users.authenticate("ann", "wrong") is None
    with pytest.raises(ConfigError, match="role must be operator or compliance"):
        load_users(bad)


def test_the_shipped_development_users_sign_in_with_the_documented_passwords() -> None:
    from gateway.console.users import DEV_USERS_PATH

    users = load_users(DEV_USERS_PATH)
    readme = (DEV_USERS_PATH.parent / "README.md").read_text()

    for name, role in (("operator", Role.OPERATOR), ("compliance", Role.COMPLIANCE)):
        password = f"{name}-dev-password"
        assert f"`{password}`" in readme
        user = users.authenticate(name, password)
        assert user is not None and user.role is role


async def test_hash_password_prints_a_hash_of_the_password_typed_twice() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "console", "hash-password",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(b"s3cret pass\ns3cret pass\n"), 30)

    assert process.returncode == 0, err
    assert verify_password("s3cret pass", out.decode().strip())
