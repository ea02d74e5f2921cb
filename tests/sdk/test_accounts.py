"""Who am I, logging in, members and tokens through the SDK."""

from __future__ import annotations

import pytest

from labelhouse.sdk import Client, Invalid, NotFound, Unauthenticated
from tests.conftest import CHOICES_SCHEMA, Person


def test_health_and_me(lh: Client, owner: Person) -> None:
    assert lh.health()["status"] == "ok"
    me = lh.me()
    assert (me["email"], me["role"], me["user_id"]) == ("owner@acme.test", "owner", owner.user_id)


def test_members_add_login_update_remove(lh: Client, server: str) -> None:
    pid = lh.projects.create("p", CHOICES_SCHEMA)["id"]
    added = lh.members.add("ann@acme.test", "annotator", password="correct horse battery", projects=[pid])
    assert (added["role"], added["projects"]) == ("annotator", [pid])
    assert {m["email"] for m in lh.members.list()} == {"owner@acme.test", "ann@acme.test"}

    with Client.login(server, "ann@acme.test", "correct horse battery", workspace="acme") as ann:
        assert ann.me()["projects"] == [pid]
        assert [p["id"] for p in ann.projects.list()] == [pid]

    changed = lh.members.update(added["user_id"], role="reviewer", all_projects=True, skills=["fr"])
    assert (changed["role"], changed["projects"], changed["skills"]) == ("reviewer", None, ["fr"])
    with pytest.raises(Invalid):
        lh.members.add("x@acme.test", "emperor")
    lh.members.remove(added["user_id"])
    assert [m["email"] for m in lh.members.list()] == ["owner@acme.test"]
    with pytest.raises(NotFound):
        lh.members.remove(added["user_id"])


def test_tokens_create_list_revoke(lh: Client, server: str) -> None:
    issued = lh.tokens.create("ci")
    assert issued["token"]
    with Client(server, issued["token"]) as ci:
        assert ci.me()["email"] == "owner@acme.test"
        assert issued["id"] in {t["id"] for t in lh.tokens.list()}
        assert all("token" not in t for t in lh.tokens.list())
        lh.tokens.revoke(issued["id"])
        with pytest.raises(Unauthenticated):
            ci.me()
    assert issued["id"] not in {t["id"] for t in lh.tokens.list()}


def test_url_and_token_come_from_the_environment(
    server: str, owner: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELHOUSE_URL", server + "/api/v1/")
    monkeypatch.setenv("LABELHOUSE_TOKEN", owner.token)
    with Client() as lh:
        assert lh.url == server
        assert lh.me()["email"] == "owner@acme.test"


def test_owner_deletes_the_workspace(lh: Client, owner: Person) -> None:
    lh.projects.create("p", CHOICES_SCHEMA)
    with pytest.raises(Invalid, match="workspace's name"):
        lh.delete_workspace("not-acme", "offboarding")
    done = lh.delete_workspace("acme", "offboarding")
    assert done["workspace_id"] == owner.workspace_id and done["key_destroyed"] is True
    with pytest.raises(Unauthenticated):
        lh.me()
