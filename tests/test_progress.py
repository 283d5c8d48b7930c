"""Progress of long jobs: plain lines when stderr is not a terminal, and a log file of every
finished step while log_progress is active (nested progress included)."""

from specurate._progress import log_progress, progress_iter


def test_steps_are_logged_and_printed_when_stderr_is_redirected(tmp_path, capsys):
    log = tmp_path / "run.log"
    with log_progress(log):
        for _ in progress_iter(range(2), "parts", enabled=True):
            assert list(progress_iter(["a", "b", "c"], "runs", enabled=False)) == ["a", "b", "c"]
    lines = log.read_text().splitlines()
    steps = [line.split(" ", 2)[2] for line in lines]  # after the date and time
    assert [s.split(" done")[0] for s in steps] == [
        "runs: 1/3",
        "runs: 2/3",
        "runs: 3/3",
        "parts: 1/2",
        "runs: 1/3",
        "runs: 2/3",
        "runs: 3/3",
        "parts: 2/2",
    ]
    err = capsys.readouterr().err.splitlines()  # pytest's stderr is not a terminal
    assert [e.split(" done")[0] for e in err] == ["parts: 1/2", "parts: 2/2"]  # enabled only


def test_nothing_is_logged_outside_log_progress(tmp_path, capsys):
    assert list(progress_iter(iter([1, 2]), "x", enabled=False)) == [1, 2]
    assert capsys.readouterr().err == ""
    assert not list(tmp_path.iterdir())
