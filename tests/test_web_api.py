"""The web app's API with bad and good input, in process (Starlette's TestClient).

What a user would notice: a clear message and a 4xx for every bad form value, never a 5xx,
never their markup echoed back as HTML, and nothing written outside the app's data folder.
"""


import warnings

import pytest
from web_helpers import wait_encoded, wait_job

with warnings.catch_warnings():  # starlette 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from abcgen.render.audio import NO_FLUIDSYNTH_ENV
from abcgen.web.app import create_app
from abcgen.web.forms import MAX_PASTE_BYTES, MAX_TUNES
from abcgen.web.jobs import Job, render_into_job

TUNE = """X:1
T:Web Test Polka
R:polka
M:2/4
L:1/8
K:D
|:A>B AF|ED EF|A>B AF|E2 D2:|
"""
BROKEN = "X:1\nT:Long Bar\nM:4/4\nL:1/8\nK:G\n|:GABc dBGA|cBAG FGAF:|\n|:GABc dBGAB|cBAG FGAF:|\n"
MARKUP_TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BASE = "http://127.0.0.1:8000"  # where create_app's server listens by default


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray relative write would land here, beside data/
    app = create_app(tmp_path / "data", model_path=tmp_path / "no-such-model.pt")
    with TestClient(app, raise_server_exceptions=False, base_url=BASE) as test_client:
        yield test_client




def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize(("form", "words"), [
    ({"n": 100000}, f"n must be between 1 and {MAX_TUNES}"),
    ({"n": "lots"}, "n must be a number"),
    ({"temperature": -1}, "temperature must be between"),
    ({"temperature": "nan"}, "temperature must be between"),
    ({"seed": -5}, "seed must be between"),
    ({"meter": "7/4<b>"}, "meter must be one of"),
    ({"tonic": "H"}, "tonic must be one of"),
    ({"instrument": "theremin"}, "instrument must be one of"),
    ({"tempo": 5000}, "tempo must be between"),
    ({"title": "x" * 201}, "at most 200"),
    ({"title": "Two\nLines"}, "control characters"),
])
def test_bad_generate_form_gets_a_clear_400(client, form, words):
    assert words in _error(client.post("/api/generate", json=form), 400)


def test_the_key_menus_are_notations_keys_and_a_key_without_a_signature_is_refused(client):
    offered = client.get("/api/options").json()
    assert {"F#", "C#", "Ab", "Db"} <= set(offered["tonics"])  # the form offered 9 tonics
    modes = {mode["value"]: mode["label"] for mode in offered["modes"]}
    assert list(modes)[:2] == ["", "m"] and modes["dor"] == "Dorian" and modes[""] == "major"
    assert {"mix", "lyd", "phr", "loc"} <= set(modes)
    message = _error(client.post("/api/generate", json={"tonic": "Eb", "mode": "loc"}), 400)
    assert "K:Ebloc has no key signature" in message  # was taken, then repaired to a guess
    assert client.post("/api/generate", json={"tonic": "F#", "mode": "m"}).status_code == 202


def test_title_with_markup_is_refused_and_never_echoed(client):
    response = client.post("/api/generate", json={"n": 1, "title": MARKUP_TITLE})
    assert "markup" in _error(response, 400)
    assert "<script" not in response.text and "<img" not in response.text


@pytest.mark.parametrize("path", ["/api/check", "/api/repair", "/api/render"])
def test_a_megabyte_paste_is_refused_with_413(client, path):
    message = _error(client.post(path, json={"abc": "X:1\nK:D\n" + "A" * 1_000_000}), 413)
    assert f"{MAX_PASTE_BYTES:,}" in message


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_bodies_get_400(client, body):
    response = client.post("/api/check", content=body,
                           headers={"content-type": "application/json"})
    assert _error(response, 400)


def test_a_cross_site_form_post_is_refused(client):
    response = client.post("/api/generate", content=b'{"n": 1}',
                           headers={"content-type": "text/plain"})
    assert "application/json" in _error(response, 415)


def test_unknown_jobs_and_files_outside_a_job_are_404(client):
    assert client.get("/api/jobs/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert _error(client.get("/api/jobs/" + "0" * 32), 404).startswith("no such job")
    job = client.post("/api/render", json={"abc": TUNE}).json()["job"]
    wait_job(client, job)
    for name in ("..%2F..%2Fkept.abc", "%2Fetc%2Fpasswd", ".."):
        assert client.get(f"/files/jobs/{job}/{name}").status_code == 404
    assert client.get("/assets/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_rendering_too_many_pasted_tunes_fails_with_a_message(client):
    book = "\n".join(TUNE.replace("X:1", f"X:{n}") for n in range(1, MAX_TUNES + 2))
    job = wait_job(client, client.post("/api/render", json={"abc": book}).json()["job"])
    assert job["state"] == "failed" and f"at most {MAX_TUNES}" in job["error"]


UNREADABLE_FIRST = "X:1\nT:No Key\nM:2/4\nABcd|\n\n" + TUNE.replace("X:1", "X:2") + """
X:3
T:Bad Key
K:Xyzzy
ABcd|
"""


def test_a_tune_that_cant_be_read_and_missing_fluidsynth_are_shown(client, monkeypatch):
    monkeypatch.setenv(NO_FLUIDSYNTH_ENV, "1")  # as on a machine without FluidSynth
    job = wait_job(client, client.post("/api/render", json={"abc": UNREADABLE_FIRST}).json()["job"])
    assert job["state"] == "done", job
    no_key, polka, bad_key = job["result"]["tunes"]
    assert [t["number"] for t in job["result"]["tunes"]] == [1, 2, 3]
    assert no_key["status"] == "error" and "no K:" in no_key["error"]  # was played keyless
    assert no_key["title"] == "No Key" and no_key["abc"].startswith("X:1\nT:No Key")
    assert bad_key["status"] == "error" and "Xyzzy" in bad_key["error"]
    # the job is done once its tunes' OGGs, which their cards play, are made
    assert polka["status"] == "ok" and set(polka["files"]) == {"abc", "mid", "wav", "ogg"}
    assert no_key["files"] == {} and bad_key["files"] == {}  # no links to offer
    assert no_key["shown_abc"] == "" and bad_key["shown_abc"] == ""  # nothing for abcjs
    assert client.get(f"/files/jobs/{job['id']}/{polka['files']['abc']}").text == TUNE.replace(
        "X:1", "X:2")
    (warning,) = job["result"]["warnings"]
    assert "FluidSynth is off" in warning and NO_FLUIDSYNTH_ENV in warning
    assert client.post("/api/keep", json={"job": job["id"], "number": 2}).json()["kept"] == 1


def test_each_tune_lands_in_its_own_card_as_it_is_rendered(tmp_path):
    job = Job("0" * 32, "render", tmp_path / "job")
    result = render_into_job(job, UNREADABLE_FIRST, "piano", 240)
    assert job.preview == result["tunes"]
    assert [t["title"] for t in job.preview] == ["No Key", "Web Test Polka", "Bad Key"]


def test_check_and_repair_a_pasted_tune(client):
    issues = client.post("/api/check", json={"abc": BROKEN}).json()["issues"]
    assert any(issue["severity"] == "error" for issue in issues)
    repaired = client.post("/api/repair", json={"abc": BROKEN}).json()
    assert repaired["report"]["repaired"] == 1
    after = client.post("/api/check", json={"abc": repaired["abc"]}).json()["issues"]
    assert [issue for issue in after if issue["severity"] == "error"] == []


def test_render_keep_and_songbook_write_only_inside_the_data_folder(client, tmp_path):
    posted = client.post("/api/render", json={"abc": TUNE, "tempo": 240}).json()
    job = wait_job(client, posted["job"])
    assert job["state"] == "done", job
    (tune,) = job["result"]["tunes"]
    assert tune["status"] == "ok" and tune["title"] == "Web Test Polka"
    ogg = client.get(f"/files/jobs/{job['id']}/{wait_encoded(client, tune['id'])['files']['ogg']}")
    assert ogg.status_code == 200 and ogg.content[:4] == b"OggS" and len(ogg.content) > 5_000
    wav = client.get(f"/api/tunes/{tune['id']}/wav")  # made when asked for
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    assert len(wav.content) > 5 * len(ogg.content)
    assert client.post("/api/keep", json={"job": job["id"], "number": 1}).json()["kept"] == 1
    assert _error(client.post("/api/keep", json={"job": job["id"], "number": 2}), 400)
    assert client.get("/api/status").json()["kept"] == ["Web Test Polka"]
    data = tmp_path / "data"
    outside = [p for p in tmp_path.rglob("*") if data not in p.parents and p != data]
    assert outside == []


def test_generation_without_a_model_fails_with_a_message_not_a_500(client):
    response = client.post("/api/generate", json={"n": 2, "seed": 1})
    assert response.status_code == 202 and response.json()["seed"] == 1
    job = wait_job(client, response.json()["job"])
    assert job["state"] == "failed" and "no-such-model.pt" in job["error"]
    assert client.get("/api/status").json()["model"] == "failed"


def test_page_loads_only_local_scripts_under_a_content_security_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    assert client.get("/static/app.js").status_code == 200
    abcjs = client.get("/assets/abcjs-basic-min.js")
    if abcjs.status_code == 404:
        pytest.skip("abcjs is not installed (npm ci): the page shows ABC text instead")
    assert len(abcjs.content) > 100_000


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from model_helpers import train_tiny, write_tiny_corpus

    folder = tmp_path_factory.mktemp("tiny")
    best, _ = train_tiny(write_tiny_corpus(folder / "corpus"), folder / "run")
    return best


def test_the_same_seed_gives_the_same_tunes_with_audio(tiny_model, tmp_path):
    form = {"n": 2, "seed": 99, "meter": "6/8", "temperature": 0.8, "instrument": "flute"}
    with TestClient(create_app(tmp_path / "data", model_path=tiny_model),
                    base_url=BASE) as client:
        jobs = [wait_job(client, client.post("/api/generate", json=form).json()["job"])
                for _ in range(2)]
    first, again = (job["result"] for job in jobs)
    assert jobs[0]["state"] == "done" and first["seed"] == 99
    assert [t["abc"] for t in first["tunes"]] == [t["abc"] for t in again["tunes"]]
    assert first["summary"]["asked"] == 2
    for tune in first["tunes"]:
        assert "M:6/8" in tune["abc"]
        if tune["status"] == "ok":
            assert (tmp_path / "data" / "jobs" / jobs[0]["id"] / tune["files"]["wav"]).is_file()


def test_serve_refuses_a_missing_model_and_a_bad_port(cli, tmp_path):
    missing = cli("serve", "--model", str(tmp_path / "nope.pt"), "--data", str(tmp_path / "d"))
    assert missing.exit_code == 2 and "nope.pt does not exist" in missing.output
    assert cli("serve", "--port", "70000").exit_code == 2
    assert not (tmp_path / "d").exists()


def test_first_bars_prime_the_model_and_a_run_checkpoint_can_be_chosen(tiny_model, tmp_path):
    runs = tmp_path / "runs"
    (runs / "mine").mkdir(parents=True)
    (runs / "mine" / "best.pt").write_bytes(tiny_model.read_bytes())
    app = create_app(tmp_path / "data", model_path=tmp_path / "no-such-model.pt", runs_dir=runs)
    with TestClient(app, base_url=BASE) as client:
        offered = [m["value"] for m in client.get("/api/options").json()["models"]]
        assert offered == ["", "runs/mine"]
        form = {"n": 1, "seed": 3, "meter": "6/8", "tonic": "G", "model": "runs/mine",
                "start": "|:GAB dBG|"}
        job = wait_job(client, client.post("/api/generate", json=form).json()["job"])
        assert job["state"] == "done", job  # the served model is missing: runs/mine wrote it
        (tune,) = job["result"]["tunes"]
        assert "K:G\n|:GAB dBG|" in tune["abc"]
        assert client.get(f"/api/tunes/{tune['id']}").json()["model"].endswith("best.pt")
        for bad in ({"model": "../../etc/passwd"}, {"start": "K:D\nABC"}, {"start": "A%B"}):
            assert client.post("/api/generate", json={**form, **bad}).status_code == 400


def test_a_job_poll_answers_when_the_job_changes_or_after_a_second(client):
    """The page learns of a tune's notation or audio as it is ready, not a polling interval
    later, and a job that doesn't change isn't asked about more than once a second."""
    import time

    from abcgen.web.app import JOB_WAIT_S

    job_id = client.post("/api/render", json={"abc": TUNE}).json()["job"]
    seen, answers = "", []
    for _ in range(200):
        started = time.monotonic()
        job = client.get(f"/api/jobs/{job_id}" + (f"?seen={seen}" if seen else "")).json()
        if seen:
            answers.append((job["version"] != seen, time.monotonic() - started))
        if job["state"] in ("done", "failed"):
            break
        seen = job["version"]
    assert job["state"] == "done" and answers and answers[-1][0]
    assert all(changed or took >= JOB_WAIT_S * 0.9 for changed, took in answers), answers
    stale = client.get(f"/api/jobs/{job_id}?seen={job['version']}")  # done: at once
    assert stale.elapsed.total_seconds() < JOB_WAIT_S / 2
    assert stale.json()["version"] == job["version"]
