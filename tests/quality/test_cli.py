"""``labelhouse quality infer`` and ``methods`` through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labelhouse.cli.main import main
from labelhouse.cli.quality import print_report
from labelhouse.quality import DEFAULT_METHOD

ROWS = "a,w1,cat\na,w2,cat\na,w3,dog\nb,w1,dog\nb,w2,dog\nb,w3,dog\n"


def test_infer_without_header_to_stdout(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(ROWS)
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--method", "mv"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "item,label,confidence"
    assert lines[1:] == ["a,cat,0.666667", "b,dog,1.000000"]


def test_infer_with_header_to_file_and_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    # w3 changes their mind on a: the last answer counts
    path.write_text("item,worker,label\n" + ROWS + "a,w3,cat\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[1].startswith("a,cat,")
    assert "a,cat,1.000000" in out.read_text()


def test_infer_neutralizes_formulas_in_its_output(tmp_path: Path) -> None:
    # item ids and labels come from the input: a cell a spreadsheet would run is written as text,
    # as exports write it (formats.csvfile.neutralize)
    path = tmp_path / "answers.csv"
    path.write_text('"=HYPERLINK(""x"")",w1,@cmd\n"=HYPERLINK(""x"")",w2,@cmd\n')
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--method", "mv"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[1] == '"\'=HYPERLINK(""x"")",\'@cmd,1.000000'
    # numbers are not formulas: -1 / +1 labels come out as they went in
    path.write_text("a,w1,-1\na,w2,-1\nb,w1,+1\n")
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--method", "mv"])
    assert res.output.splitlines()[1:] == ["a,-1,1.000000", "b,+1,1.000000"]


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("item,worker,label\na,w1,cat\na,w2\n")
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5
    assert "line 3" in res.output and "3 fields" in res.output
    path.write_text("a,,cat\n")
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5 and "line 1" in res.output
    path.write_text("")
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5 and "no answers" in res.output


def test_unknown_method_and_methods_list(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(ROWS)
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--method", "nope"])
    assert res.exit_code == 3 and "known:" in res.output
    res = CliRunner().invoke(main, ["quality", "methods"])
    assert res.exit_code == 0
    assert f"{DEFAULT_METHOD} (default)" in res.output
    assert "ds" in res.output and "mv" in res.output


def test_not_utf8_says_so_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("item,worker,label\na,w1,caf\xe9\n".encode("latin-1"))
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5, res.output
    assert "line 2: not UTF-8" in res.output and "Traceback" not in res.output
    path.write_text("item,worker,label\na,w1,cat\n", encoding="utf-16")
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5 and "line 1: not UTF-8" in res.output


def test_out_in_a_missing_folder_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(ROWS)
    out = tmp_path / "no" / "such" / "out.csv"
    res = CliRunner().invoke(main, ["quality", "infer", str(path), "--out", str(out)])
    assert res.exit_code == 5, res.output
    assert "cannot write" in res.output and str(out) in res.output


def test_report_line_of_a_spans_control_has_no_stray_comma(capsys: pytest.CaptureFixture[str]) -> None:
    section = {
        "type": "spans",
        "method": "weighted consensus rule",
        "tasks": 2,
        "answers": 4,
        "mean_confidence": 0.9,
        "low_confidence_tasks": 0,
        "agreement": {"krippendorff_alpha": None, "mean_pairwise": 0.75, "pair_measure": "span_f1"},
        "annotators": [],
    }
    print_report({"controls": {"ents": section}})
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("0 below 0.8; mean pairwise span_f1 0.750"), first


def test_report_on_a_folder_without_an_install_says_so_and_creates_nothing(tmp_path: Path) -> None:
    # a typo in --data (or the wrong working folder) made a new empty install, keys and all, and
    # then said "project 1 not found"
    missing = tmp_path / "typo"
    for args in (["quality", "1"], ["quality", "recompute", "1"]):
        res = CliRunner().invoke(main, [*args, "--data", str(missing)])
        assert res.exit_code == 3, res.output
        assert "no labelhouse install" in res.output and "--data" in res.output
        assert not missing.exists()


def test_report_with_an_unusable_database_or_project_id_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/x.db"
    res = CliRunner().invoke(main, ["quality", "1", "--database-url", url])
    assert res.exit_code == 9 and "database" in res.output, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    res = CliRunner().invoke(main, ["quality", "99999999999999999999", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "99999999999999999999" in res.output, res.output


def test_out_of_memory_says_which_methods_need_less(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Dawid-Skene keeps a labels x labels matrix per worker: free-text-like labels (thousands of
    # distinct ones) ran out of memory with a numpy traceback
    from labelhouse.quality import get_method

    method = get_method(DEFAULT_METHOD)

    def no_memory(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(type(method), "infer", no_memory)
    path = tmp_path / "answers.csv"
    path.write_text(ROWS)
    res = CliRunner().invoke(main, ["quality", "infer", str(path)])
    assert res.exit_code == 5, res.output
    assert "memory" in res.output and "2 distinct labels" in res.output and "--method mv" in res.output


def test_rank_votes_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    # a header, Chatbot Arena's spellings, an extra field, a blank line, a self-match (dropped)
    path.write_text(
        "model_a,model_b,winner,question\n"
        "x,y,model_a,1\n\nx,y,a,2\ny,x,b,3\nx,z,a,4\nz,y,tie (bothbad),5\ny,z,tie,6\nx,x,a,7\n"
    )
    res = CliRunner().invoke(main, ["quality", "rank", str(path), "--json"])
    assert res.exit_code == 0, res.output
    import json

    board = json.loads(res.output)
    assert board["votes"] == 6 and [e["name"] for e in board["entries"]][0] == "x"
    assert {e["name"]: (e["wins"], e["losses"], e["ties"]) for e in board["entries"]}["x"] == (4, 0, 0)
    table = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert table.exit_code == 0 and "position bias" in table.output and "   1  x " in table.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y,left\n", "line 1: winner 'left' is not one of"),
        ("left,right,winner\nx,y\n", "line 2: expected left,right,winner"),
        ("x,,a\n", "line 1: the two names must not be empty"),
        ("", "has no votes"),
    ],
)
def test_rank_refuses_bad_votes_by_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "votes.csv"
    path.write_text(text)
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code != 0 and message in res.output, res.output
    assert "Traceback" not in res.output


def test_an_unknown_header_is_flagged_and_header_skips_it(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    rows = "".join(f"i{i},w{i % 3},{'cat' if i % 2 else 'dog'}\n" for i in range(12))
    path.write_text("question,annotator_id,answer\n" + rows)
    runner = CliRunner()
    guessed = runner.invoke(main, ["quality", "infer", str(path), "--method", "mv"])
    assert guessed.exit_code == 0
    assert "line 1 'question,annotator_id,answer' was read as an answer" in guessed.stderr
    assert "pass --header" in guessed.stderr and "question,answer," in guessed.stdout
    told = runner.invoke(main, ["quality", "infer", str(path), "--method", "mv", "--header"])
    assert told.exit_code == 0 and "question" not in told.stdout and "warning" not in told.stderr
    assert len(told.stdout.splitlines()) == 1 + 12
    # a known header is skipped without being asked; --no-header reads it as an answer
    path.write_text("item,worker,label\n" + rows)
    assert (
        len(runner.invoke(main, ["quality", "infer", str(path), "--method", "mv"]).stdout.splitlines()) == 13
    )
    as_data = runner.invoke(main, ["quality", "infer", str(path), "--method", "mv", "--no-header"])
    assert "item,label,1.000000" in as_data.stdout and "warning" not in as_data.stderr
    # an ordinary first row (its item answered again) is not flagged
    path.write_text("i0,w9,dog\n" + rows)
    assert "warning" not in runner.invoke(main, ["quality", "infer", str(path), "--method", "mv"]).stderr


def test_rank_names_the_first_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_bytes(b"x,y,a\n" + "caf\xe9,y,b\n".encode("latin-1"))
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code != 0 and "line 2: not UTF-8 text" in res.output, res.output


def test_rank_says_when_items_fall_into_groups_never_compared(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("a,b,a\nb,a,a\na,b,b\nc,d,a\nd,c,a\nc,d,b\n")
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code == 0, res.output
    assert "2 groups never compared with each other" in res.output
    assert "group 1: b, a" in res.output and "group 2: d, c" in res.output  # in rank order
    path.write_text("a,b,a\nb,a,a\n")
    assert "groups" not in CliRunner().invoke(main, ["quality", "rank", str(path)]).output


def test_the_project_report_says_when_items_fall_into_groups(capsys: pytest.CaptureFixture[str]) -> None:
    from labelhouse.quality.leaderboard import leaderboard

    board = leaderboard([("a", "b", "a"), ("b", "a", "a"), ("c", "d", "a"), ("d", "c", "a")])
    board["ranks"] = "models"
    section = {
        "type": "preference", "method": "weighted consensus rule", "tasks": 4, "answers": 4,
        "mean_confidence": 1.0, "low_confidence_tasks": 0, "agreement": {}, "annotators": [],
        "leaderboard": board,
    }  # fmt: skip
    print_report({"controls": {"pref": section}})
    out = capsys.readouterr().out
    assert "2 groups never compared with each other" in out and "group 2: c, d" in out


def test_the_project_report_gives_the_position_bias_counts_and_test(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from labelhouse.quality.leaderboard import leaderboard

    votes = [("x", "y", "a")] * 7 + [("y", "x", "a")] * 3 + [("x", "y", "tie")]
    board = leaderboard(votes)
    board["ranks"] = "models"
    section = {
        "type": "preference", "method": "weighted consensus rule", "tasks": 11, "answers": 11,
        "mean_confidence": 1.0, "low_confidence_tasks": 0, "agreement": {}, "annotators": [],
        "leaderboard": board,
    }  # fmt: skip
    print_report({"controls": {"pref": section}})
    out = capsys.readouterr().out
    # as `quality rank` gives it: how many votes the share is of, the ties set aside, and the test
    assert "first shown wins 100.0% [72.2, 100.0] of 10 decided votes (1 tie), p = 0.001953" in out


def test_rank_and_report_give_the_position_bias_within_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labelhouse.quality.leaderboard import leaderboard

    rows = ["x,y,a"] * 6 + ["x,y,b"] * 2 + ["y,x,a"] * 3 + ["y,x,b"] * 3
    path = tmp_path / "votes.csv"
    path.write_text("\n".join(rows) + "\n")
    expected = (
        "within the 1 pair shown both ways (14 votes), the first shown wins 63.4% [35.8, 84.3] among equals"
    )
    assert expected in CliRunner().invoke(main, ["quality", "rank", str(path)]).output
    board = leaderboard([tuple(r.split(",")) for r in rows])  # type: ignore[misc]
    board["ranks"] = "models"
    section = {
        "type": "preference", "method": "weighted consensus rule", "tasks": 14, "answers": 14,
        "mean_confidence": 1.0, "low_confidence_tasks": 0, "agreement": {}, "annotators": [],
        "leaderboard": board,
    }  # fmt: skip
    print_report({"controls": {"pref": section}})
    assert expected in capsys.readouterr().out
    path.write_text("x,y,a\nx,y,b\nx,y,a\n")
    one_way = CliRunner().invoke(main, ["quality", "rank", str(path)]).output
    assert "no pair was shown both ways" in one_way


def test_rank_says_why_a_file_of_self_matches_has_no_votes(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("x,x,a\ny,y,tie\n")
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "its 2 votes each compare a name with itself" in res.output, res.output


def test_rank_hints_at_the_header_when_line_1_is_not_a_vote(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("left,right,outcome\nx,y,a\n")
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code != 0 and "line 1: winner 'outcome' is not one of" in res.output
    assert "a header line is skipped when its third field is winner" in res.output, res.output


@pytest.mark.parametrize(("text", "sep"), [("x;y;a\n", "';'"), ("x\ty\ta\n", "a tab")])
def test_rank_says_when_the_file_is_not_comma_separated(tmp_path: Path, text: str, sep: str) -> None:
    path = tmp_path / "votes.csv"
    path.write_text(text)
    res = CliRunner().invoke(main, ["quality", "rank", str(path)])
    assert res.exit_code != 0 and "line 1: expected left,right,winner" in res.output
    assert f"fields are separated by commas, this line by {sep}" in res.output, res.output
