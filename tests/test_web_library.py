"""The web app as a place a musician comes back to (issue 19), in process: tunes and songbooks
that outlast a restart, stable tune links, compressed audio and cleanup, the hardening, and
the form's fixed bugs."""

import os
import sqlite3
import time
import warnings

import pytest
from web_helpers import wait_encoded, wait_job

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from abcgen.web.app import create_app
from abcgen.web.library import LIBRARY_NAME, MIGRATIONS

BASE = "http://127.0.0.1:8000"
JIG = """X:1
T:Tom & Jerry
R:jig
M:6/8
L:1/8
K:D
%%beginps
/x {0 0 moveto} def
%%endps
|:AFA dFA|AFA BGE|AFA dFA|BGE D3:|
"""
REEL = "X:2\nT:The Second Reel\nR:reel\nM:4/4\nL:1/8\nK:G\n|:GABc dBGA|BcdB AGFA:|\n"


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def _client(data, **limits):
    app = create_app(data, model_path=data.parent / "no-such-model.pt", **limits)
    return TestClient(app, raise_server_exceptions=False, base_url=BASE)


def _render(client, abc: str, **form) -> dict:
    return wait_job(client, client.post("/api/render", json={"abc": abc, **form}).json()["job"])




def test_tunes_jobs_and_songbooks_outlast_a_restart(data):
    with _client(data) as client:
        job = _render(client, JIG + "\n" + REEL)
        jig, reel = job["result"]["tunes"]
        wait_encoded(client, jig["id"])
        first = client.get("/api/status").json()["songbooks"][0]
        client.post("/api/keep", json={"tune": jig["id"], "songbook": first["id"]})
        client.post("/api/keep", json={"tune": reel["id"], "songbook": first["id"]})
        sessions = client.post("/api/songbooks", json={"name": "Tuesday session"}).json()
        client.post("/api/keep", json={"tune": reel["id"], "songbook": sessions["id"]})
    with _client(data) as client:  # the server restarted
        again = client.get(f"/api/jobs/{job['id']}").json()
        assert again["state"] == "done"
        assert [t["id"] for t in again["result"]["tunes"]] == [jig["id"], reel["id"]]
        tune = client.get(f"/api/tunes/{jig['id']}").json()
        assert tune["title"] == "Tom & Jerry" and tune["abc"] == jig["abc"]
        assert tune["settings"]["instrument"] == "fiddle" and set(tune["files"]) >= {"ogg"}
        assert client.get(f"/tune/{jig['id']}").status_code == 200  # the page for the link
        books = client.get("/api/status").json()["songbooks"]
        assert [b["name"] for b in books] == ["My abcgen songbook", "Tuesday session"]
        assert [t["title"] for t in books[0]["tunes"]] == ["Tom & Jerry", "The Second Reel"]
        assert [t["title"] for t in books[1]["tunes"]] == ["The Second Reel"]
    assert sqlite3.connect(data / LIBRARY_NAME).execute(
        "PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_kept_tunes_can_be_reordered_and_removed(data):
    with _client(data) as client:
        jig, reel = _render(client, JIG + "\n" + REEL)["result"]["tunes"]
        for tune in (jig, reel):
            client.post("/api/keep", json={"tune": tune["id"]})
        book = client.get("/api/status").json()["songbooks"][0]
        moved = client.post(f"/api/songbooks/{book['id']}/order",
                            json={"tunes": [reel["id"], jig["id"]]}).json()
        assert [t["title"] for t in moved["tunes"]] == ["The Second Reel", "Tom & Jerry"]
        assert client.post(f"/api/songbooks/{book['id']}/order",
                           json={"tunes": [reel["id"]]}).status_code == 409
        left = client.post(f"/api/songbooks/{book['id']}/remove", json={"tune": reel["id"]})
        assert [t["title"] for t in left.json()["tunes"]] == ["Tom & Jerry"]
        assert client.get("/api/status").json()["kept"] == ["Tom & Jerry"]
        assert client.post("/api/songbooks", json={"name": "My abcgen songbook"}).status_code == 409


def test_a_job_cut_off_by_a_restart_says_so(data):
    with _client(data) as client:
        client.app.state.library.job_started("f" * 32, "generate", {})  # never finished
    with _client(data) as client:
        job = client.get(f"/api/jobs/{'f' * 32}").json()
        assert job["state"] == "failed" and "run it again" in job["error"]


def test_the_page_gets_ogg_and_old_unkept_files_are_cleaned_but_kept_ones_never(data):
    with _client(data) as client:
        old = _render(client, JIG)
        kept = _render(client, REEL)
        for job in (old, kept):
            wait_encoded(client, job["result"]["tunes"][0]["id"])
        client.post("/api/keep", json={"tune": kept["result"]["tunes"][0]["id"]})
    jobs = data / "jobs"
    (wav,) = (jobs / kept["id"]).glob("*.wav")  # the first page played it; later ones, OGG
    assert wav.with_suffix(".ogg").stat().st_size * 5 < wav.stat().st_size
    week_ago = time.time() - 8 * 24 * 3600
    for path in (wav, jobs / old["id"], jobs / kept["id"]):
        os.utime(path, (week_ago, week_ago))
    with _client(data) as client:
        client.app.state.cleanup()  # as at start-up and after each job
        assert not (jobs / old["id"]).exists()
        reel = client.get(f"/api/tunes/{kept['result']['tunes'][0]['id']}").json()
        assert set(reel["files"]) == {"ogg", "mid", "abc"}  # the WAV went, the OGG stays
        assert all((jobs / kept["id"] / name).is_file() for name in reel["files"].values())
        jig = client.get(f"/api/tunes/{old['result']['tunes'][0]['id']}").json()
        assert jig["files"] == {} and jig["abc"].startswith("X:1")  # still opens, as ABC


def test_unkept_files_go_when_the_jobs_pass_the_size_limit(data):
    with _client(data, clean_bytes=1) as client:
        first = _render(client, JIG)
        wait_encoded(client, first["result"]["tunes"][0]["id"])
        second = _render(client, REEL)  # the cleanup after it removes the first job's files
        assert not (data / "jobs" / first["id"]).exists()
        assert (data / "jobs" / second["id"]).exists()  # a job's own files live till the next


def test_only_cleaned_abc_reaches_abcjs_and_tempo_is_in_the_rhythms_beat(data):
    with _client(data) as client:
        job = _render(client, JIG, tempo=120)
        (jig,) = job["result"]["tunes"]
    assert "%%beginps" in jig["abc"] and "Q:3/8=120" in jig["abc"]  # kept as pasted, + tempo
    assert "%" not in jig["shown_abc"] and "Q:3/8=120" in jig["shown_abc"]
    assert jig["seconds"] == pytest.approx(8.0, abs=0.6)  # 8 bars of 2 beats at 120 a minute


def test_an_ampersand_title_is_welcome_and_a_mode_needs_a_key(data):
    with _client(data) as client:
        assert client.post("/api/generate", json={"title": "Tom & Jerry"}).status_code == 202
        refused = client.post("/api/generate", json={"mode": "dor"})
        assert refused.status_code == 400 and "choose a key for Dorian" in refused.json()["error"]


@pytest.mark.parametrize("host", ["evil.example:8000", "127.0.0.1:9999", "attacker.test"])
def test_a_request_for_another_host_is_refused(data, host):
    with _client(data) as client:
        refused = client.get("/api/status", headers={"host": host})
        assert refused.status_code == 421
        assert client.post("/api/render", json={"abc": JIG},
                           headers={"host": host}).status_code == 421
        assert client.get("/api/status", headers={"host": "localhost:8000"}).status_code == 200


def test_every_page_forbids_framing_and_has_a_csp_songbooks_included(data):
    with _client(data) as client:
        jig = _render(client, JIG)["result"]["tunes"][0]
        client.post("/api/keep", json={"tune": jig["id"]})
        book = client.post("/api/songbook/build", json={}).json()["job"]
        deadline = time.monotonic() + 120
        while (built := client.get(f"/api/jobs/{book}").json())["state"] not in ("done",
                                                                               "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert built["state"] == "done", built
        paths = ["/", f"/tune/{jig['id']}", "/static/app.js", "/api/status",
                 f"/songbook/{built['result']['html']}", "/songbook/1/", "/no-such-page"]
        for path in paths:
            answer = client.get(path)
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-frame-options"] == "DENY", path
        assert client.get(f"/songbook/{built['result']['html']}").status_code == 200


def test_transpose_moves_a_tune_to_a_key_or_by_semitones_as_a_new_tune(data):
    with _client(data) as client:
        (jig,) = _render(client, JIG, tempo=100)["result"]["tunes"]
        moved = client.post("/api/transpose", json={"tune": jig["id"], "key": "G"}).json()
        assert moved["semitones"] == 5
        (up,) = wait_job(client, moved["job"])["result"]["tunes"]
        assert "K:G" in up["abc"] and "Q:3/8=100" in up["abc"] and up["status"] == "ok"
        assert "|:dBd gBd|" in up["shown_abc"] and up["id"] != jig["id"]
        assert client.get(f"/api/tunes/{up['id']}").json()["settings"]["from"] == jig["id"]
        down = client.post("/api/transpose", json={"tune": jig["id"], "semitones": -2}).json()
        assert "K:C" in wait_job(client, down["job"])["result"]["tunes"][0]["abc"]
        refused = client.post("/api/transpose", json={"tune": jig["id"], "semitones": 99})
        assert refused.status_code == 400 and "semitones" in refused.json()["error"]


def test_tunes_kept_before_the_library_come_into_the_first_songbook(data):
    data.mkdir(parents=True)
    (data / "kept.abc").write_text(JIG + "\n" + REEL)
    with _client(data) as client:
        (book,) = client.get("/api/status").json()["songbooks"]
        assert [t["title"] for t in book["tunes"]] == ["Tom & Jerry", "The Second Reel"]
        tune = client.get(f"/api/tunes/{book['tunes'][0]['id']}").json()
        assert tune["abc"].startswith("X:1\nT:Tom & Jerry") and tune["files"] == {}
        assert tune["shown_abc"].startswith("X:1") and "%" not in tune["shown_abc"]
    assert not (data / "kept.abc").exists() and (data / "kept.abc.imported").is_file()


@pytest.mark.parametrize(("listen", "host", "ok"), [
    ("127.0.0.1", "127.0.0.1:8000", True), ("127.0.0.1", "localhost:8000", True),
    ("127.0.0.1", "[::1]:8000", True), ("127.0.0.1", "rebound.example:8000", False),
    ("0.0.0.0", "192.168.1.20:8000", True), ("0.0.0.0", "192.168.1.20:9000", False),
    ("0.0.0.0", "rebound.example:8000", False), ("::", "[fe80::1]:8000", True),
])
def test_the_host_header_must_name_the_address_served(listen, host, ok):
    from abcgen.web.guard import allowed_hosts, host_ok

    assert host_ok(host, allowed_hosts(listen, 8000), 8000) is ok
