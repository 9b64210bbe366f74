"""The Label page's Groups view (``/label?view=groups``): with ``DIR/clusters.csv`` from ``checkout feedback
cluster``, one block per group of crops that look alike (largest first, then the crops alone), each labelled at once
by one form (POST /label/group, all or nothing); a stale clusters.csv (rows gone, crops arrived since) and a damaged
one are one line on the page, never a 500."""

from __future__ import annotations

import html
import re

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")


from tests.trainer.headoffice.test_label import labels, sign_in  # noqa: E402
from tests.trainer.headoffice.test_label_scale import COLUMNS, tiny_png  # noqa: E402
from trainer.fleet import clusters_file as clusters  # noqa: E402

# q00-q03 group 0 (looks like lemon), q04-q06 group 1 (banana), q07 and q08 alone
GROUPS = {**{f"q{i:02d}": 0 for i in range(4)}, **{f"q{i:02d}": 1 for i in range(4, 7)}, "q07": -1, "q08": -1}


def placement(i: int) -> str:
    return f"images/S/K1/q{i:02d}.png,S,K1,q{i:02d},,removed,,,2026-12-01T08:{i:02d}:00+05:30,b,no label"


def write_unlabelled(folder, numbers) -> None:
    (folder / "images" / "S" / "K1").mkdir(parents=True, exist_ok=True)
    for i in numbers:
        (folder / "images" / "S" / "K1" / f"q{i:02d}.png").write_bytes(tiny_png())
    (folder / "unlabelled.csv").write_text("\n".join([COLUMNS] + [placement(i) for i in numbers]) + "\n")


def write_clusters(folder, groups: dict[str, int]) -> None:
    sizes = {c: list(groups.values()).count(c) for c in groups.values()}
    hint = {0: "lemon", 1: "banana", -1: "apple", -2: ""}
    lines = [",".join(clusters.COLUMNS)]
    for p, c in groups.items():
        size, score = ("", "") if c == -2 else (sizes[c] if c >= 0 else 1, "0.9000" if c == 0 else "0.7000")
        lines.append(f"S,K1,{p},images/S/K1/{p}.png,{c},{size},{hint.get(c, 'lemon')},{score},3,{'a' * 64}")
    (folder / "clusters.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "out"
    write_unlabelled(out, range(9))
    write_clusters(out, GROUPS)
    return out


def blocks(page: str) -> list[str]:
    """The ids of the Groups view's blocks, in order."""
    return re.findall(r'<section class="group[^"]*" id="([^"]+)">', page)


def block(page: str, name: str) -> str:
    return page.split(f'id="{name}">', 1)[1].split("</section>", 1)[0]


def version(folder) -> str:
    return clusters.read_clusters(folder).version


def one_line(text: str, element: str) -> str:
    (line,) = [x for x in text.splitlines() if f'id="{element}"' in x]
    return html.unescape(line)


def test_the_groups_view_shows_each_group_largest_first_then_the_crops_alone(client, seeded):
    sign_in(client, seeded)
    assert 'href="/label?view=groups" id="groups-link"' in client.get("/label").text
    r = client.get("/label", params={"view": "groups"})
    assert r.status_code == 200
    page = r.text
    assert blocks(page) == ["group-0", "group-1", "alone-S-K1-q07", "alone-S-K1-q08"]
    first = block(page, "group-0")
    assert "4 crops" in first and "looks like Lemon (0.90)" in first and "0 of 4 labelled" in first
    assert len(re.findall(r'<img loading="lazy"', first)) == 4
    assert 'src="/label/photo.png?store=S&amp;kiosk=K1&amp;placement=q00"' in first
    assert 'action="/label/group"' in first and 'name="cluster" value="0"' in first
    assert 'id="label-span">2 groups and 2 crops alone<' in page
    assert 'id="label-groups-stale"' not in page and 'href="/label" id="list-link"' in page
    alone = block(page, "alone-S-K1-q07")
    assert 'action="/label"' in alone and 'name="at_view" value="groups"' in alone


def test_the_group_form_labels_every_crop_of_the_group_not_yet_labelled(client, seeded, folder):
    sign_in(client, seeded)
    assert client.post("/label", data={"store": "S", "kiosk": "K1", "placement": "q01", "sku": "banana"}) \
        .status_code == 303
    assert "1 of 4 labelled" in block(client.get("/label?view=groups").text, "group-0")
    r = client.post("/label/group", data={"cluster": "0", "version": version(folder), "sku": "lemon",
                                          "verdict": "sku", "at_view": "groups"})
    assert r.status_code == 303 and r.headers["location"] == "/label?view=groups"
    page = client.get(r.headers["location"]).text
    assert one_line(page, "label-notice").count("group 0: 3 placements labelled lemon;") == 1
    assert "4 of 4 labelled" in block(page, "group-0") and 'action="/label/group"' not in block(page, "group-0")
    assert sorted((x["placement_id"], x["sku"], x["labelled_by"]) for x in labels(folder)) == [
        ("q00", "lemon", "meera"), ("q01", "banana", "meera"), ("q02", "lemon", "meera"), ("q03", "lemon", "meera")]
    listed = client.get("/label", params={"show": "all"}).text
    for p in ("q00", "q02", "q03"):
        row = listed.split(f'id="label-S-K1-{p}"', 1)[1].split("</tr>", 1)[0]
        assert '<span class="badge ok">lemon</span>' in row and "by meera" in row
    r = client.post("/label/group", data={"cluster": "1", "version": version(folder), "verdict": "not-a-product"})
    assert r.status_code == 303 and {x["verdict"] for x in labels(folder) if x["placement_id"] in ("q04", "q05",
                                                                                                   "q06")} == {
        "not-a-product"}
    r = client.post("/label/group", data={"cluster": "0", "version": version(folder), "sku": "lemon"})
    assert r.status_code == 400 and "group 0 has no crops left to label" in one_line(r.text, "label-error")


def test_a_stale_clusters_file_is_a_notice_and_labels_only_the_crops_still_for_review(client, seeded, folder):
    """q09 arrived after the groups were made; gone1 (in group 0) was labelled and taken up by a collect since."""
    sign_in(client, seeded)
    write_unlabelled(folder, range(10))
    write_clusters(folder, {"gone1": 0, **GROUPS, "q08": -2})
    page = client.get("/label?view=groups").text
    notice = one_line(page, "label-groups-stale")
    assert "1 crop arrived since the groups were made: run `checkout feedback cluster` again" in notice
    assert "1 older crops were not grouped (--max-crops)" in notice
    assert "4 crops" in block(page, "group-0") and "gone1" not in page
    assert blocks(page) == ["group-0", "group-1", "alone-S-K1-q07"]  # q08 not grouped this time
    r = client.post("/label/group", data={"cluster": "0", "version": version(folder), "sku": "lemon"})
    assert r.status_code == 303
    assert "group 0: 4 placements labelled lemon" in one_line(client.get("/label?view=groups").text, "label-notice")
    assert sorted(x["placement_id"] for x in labels(folder)) == ["q00", "q01", "q02", "q03"]


def test_groups_made_again_since_the_page_was_loaded_are_not_labelled(client, seeded, folder):
    sign_in(client, seeded)
    old = version(folder)
    write_clusters(folder, {**GROUPS, "q00": 1})  # the groups numbered afresh
    for form in ({"cluster": "0", "version": old, "sku": "lemon"}, {"cluster": "0", "sku": "lemon"},
                 {"cluster": "-1", "version": version(folder), "sku": "lemon"},
                 {"cluster": "x", "version": version(folder), "sku": "lemon"}):
        r = client.post("/label/group", data=form)
        assert r.status_code == 400 and "Traceback" not in r.text, form
        assert one_line(r.text, "label-error")
    assert "made again since this page was loaded" in client.post("/label/group", data={
        "cluster": "0", "version": old, "sku": "lemon"}).text
    r = client.post("/label/group", data={"cluster": "0", "version": version(folder), "sku": "Lemon!"})
    assert r.status_code == 400 and "is not a SKU id" in one_line(r.text, "label-error")
    assert labels(folder) == []


def test_a_damaged_clusters_file_is_one_line_and_the_list_still_works(client, seeded, folder):
    sign_in(client, seeded)
    (folder / "clusters.csv").write_text("who,what\n1,2\n")
    r = client.get("/label", params={"view": "groups"})
    assert r.status_code == 200 and "Traceback" not in r.text
    assert "clusters.csv line 1: not the header" in one_line(r.text, "label-groups-problem")
    assert 'href="/label" id="list-link"' in r.text
    listed = client.get("/label")
    assert listed.status_code == 200 and 'id="label-S-K1-q08"' in listed.text
    r = client.post("/label/group", data={"cluster": "0", "version": "x", "sku": "lemon"})
    assert r.status_code == 400 and "clusters.csv line 1" in one_line(r.text, "label-error")
    (folder / "clusters.csv").write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8 text" in one_line(client.get("/label?view=groups").text, "label-groups-problem")
    assert labels(folder) == []


def test_a_cross_site_or_signed_out_group_label_labels_nothing(client, seeded, folder):
    form = {"cluster": "0", "version": version(folder), "sku": "lemon"}
    r = client.post("/label/group", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    sign_in(client, seeded)
    for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
        r = client.post("/label/group", data=form, headers=headers)
        assert r.status_code == 403 and "label on the dashboard&#39;s own page" in r.text
    assert labels(folder) == []


def test_without_clusters_there_is_no_groups_view(client, seeded, folder):
    sign_in(client, seeded)
    (folder / "clusters.csv").unlink()
    page = client.get("/label").text
    assert "groups-link" not in page and 'id="label-S-K1-q08"' in page
    r = client.get("/label", params={"view": "groups"})
    assert r.status_code == 200 and 'id="label-S-K1-q08"' in r.text  # the list, with one line
    assert "no groups yet: `checkout feedback cluster DIR --bundle B`" in one_line(r.text, "label-query")
    assert "view 'tiles' is not one of list, groups" in one_line(client.get("/label?view=tiles").text, "label-query")


def test_groups_come_twenty_a_page_and_clusters_csv_is_parsed_once_per_change(client, seeded, folder, monkeypatch):
    sign_in(client, seeded)
    write_unlabelled(folder, range(30))
    write_clusters(folder, {**{f"q{i:02d}": i for i in range(25)}, **{f"q{i:02d}": -1 for i in range(25, 30)}})
    # 25 groups (of one crop each, as --min-size 1 makes them) and 5 crops alone
    calls = []
    read = clusters.read_clusters
    monkeypatch.setattr(clusters, "read_clusters", lambda f: calls.append(f) or read(f))
    first = client.get("/label?view=groups").text
    assert len(blocks(first)) == 20 and 'href="/label?view=groups&amp;page=2" rel="next"' in first
    second = client.get("/label?view=groups&page=2").text
    assert blocks(second) == [f"group-{i}" for i in range(20, 25)] + [f"alone-S-K1-q{i}" for i in range(25, 30)]
    assert 'id="label-span">21–30 of 25 groups and 5 crops alone<' in second
    assert len(calls) == 1
    r = client.post("/label", data={"store": "S", "kiosk": "K1", "placement": "q27", "sku": "banana",
                                    "at_page": "2", "at_view": "groups"})
    assert r.headers["location"] == "/label?view=groups&page=2"  # the singleton's form comes back to its page
    assert '<span class="badge ok">banana</span>' in block(client.get(r.headers["location"]).text, "alone-S-K1-q27")
