"""Settings: TOML file < BASCULE_* environment < flags; clear errors; passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bascule.config import ConfigError, load_settings, safe_url
from bascule.config.settings import Settings
from bascule.errors import SettingsError


def test_precedence_file_env_flags(tmp_path, monkeypatch):
    f = tmp_path / "bascule.toml"
    f.write_text('new_host = "camap.file.org"\nbatch_size = 100\ngroups = [1, 2]\n'
                 'old_host = "old.file.org"\n')
    monkeypatch.setenv("BASCULE_BATCH_SIZE", "200")
    monkeypatch.setenv("BASCULE_GROUPS", "3,4")
    s = load_settings(f, batch_size=300)
    assert s.new_host == "camap.file.org"  # file
    assert s.old_host == "old.file.org"
    assert s.groups == [3, 4]  # env beats file
    assert s.batch_size == 300  # flag beats env
    s2 = load_settings(f)
    assert s2.batch_size == 200


def test_default_file_is_read_from_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings().new_host == "camap.alilo.fr"
    (tmp_path / "bascule.toml").write_text('new_host = "x.example.org"\n')
    assert load_settings().new_host == "x.example.org"


def test_defaults():
    s = load_settings(None)
    assert (s.old_host, s.new_host) == ("app.cagette.net", "camap.alilo.fr")
    # the dates of a move have no default: each move sets its own
    assert s.cutover_date is None and s.redirect_until is None
    with pytest.raises(SettingsError) as e:
        s.redirect_end
    assert e.value.exit_code == 2 and "redirect_until is not set" in str(e.value)
    assert s.timezone == "Europe/Paris" and s.id_strategy == "remap"
    assert not s.keep_linked_stock and s.batch_size == 5000
    s = load_settings(None, cutover_date="2023-03-14", redirect_until="2023-08-31")
    # end of 31 August 2023 in Paris (CEST)
    assert s.redirect_end.isoformat() == "2023-09-01T00:00:00+02:00"


def test_passwords_never_shown(tmp_path):
    s = load_settings(None, source_url="mysql+pymysql://reader:s3cr3t@db/cagette",
                      target_url="postgresql+psycopg://camap:hunter2@db2/camap")
    for text in (repr(s), str(s), str(s.safe_dict())):
        assert "s3cr3t" not in text and "hunter2" not in text
        assert "***" in text
    assert safe_url("mysql://u:pw@h/d") == "mysql://u:***@h/d"
    with pytest.raises(ConfigError) as e:
        load_settings(None, source_url="notaurl://u:pw@h/d")
    assert "pw" not in str(e.value)


@pytest.mark.parametrize("flags,expect", [
    ({"new_host": "evil.org; return 200"}, "setting new_host"),
    ({"new_host": "camap.org/path"}, "setting new_host"),
    ({"old_host": "a b"}, "setting old_host"),
    ({"timezone": "Mars/Olympus"}, "setting timezone"),
    ({"batch_size": 0}, "setting batch_size"),
    ({"id_strategy": "copy"}, "setting id_strategy"),
    ({"source_url": "oracle://u@h/d"}, "not supported"),
    ({"redirect_until": "2023-01-01", "cutover_date": "2023-03-14"},
     "redirect_until must not be before cutover_date"),
    ({"groups": (3,), "exclude_groups": (3,)}, "both selected and excluded"),
])
def test_validation_errors_are_one_clear_line_each(flags, expect):
    with pytest.raises(ConfigError) as e:
        load_settings(None, **flags)
    msg = str(e.value)
    assert expect in msg
    assert all(line.startswith("setting ") for line in msg.splitlines())


def test_unknown_setting_in_file(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('target = "x"\n')
    with pytest.raises(ConfigError, match="setting target .*unknown setting"):
        load_settings(f)


def test_readme_documents_every_setting():
    """The README's settings table names every setting (keep the README true)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [f for f in Settings.model_fields if f"| `{f}` |" not in readme]
    assert not missing, missing


def test_the_file_is_read_by_pydantic_settings_toml_source_flat_or_under_bascule(tmp_path):
    from pydantic_settings import TomlConfigSettingsSource

    from bascule.config import settings as mod

    assert issubclass(mod._TomlFile, TomlConfigSettingsSource)
    f = tmp_path / "b.toml"
    f.write_text('[bascule]\nnew_host = "camap.table.org"\nbatch_size = 7\n')
    s = load_settings(f)
    assert (s.new_host, s.batch_size) == ("camap.table.org", 7)
    f.write_text('batch_size = "many"\n')
    with pytest.raises(ConfigError, match=rf"setting batch_size \(from {f}\)"):
        load_settings(f)
    f.write_text("batch_size = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(f)


def test_a_misspelt_setting_gets_did_you_mean(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('gruops = [12]\nreport_dri = "out"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "setting gruops" in str(e.value) and "did you mean groups?" in str(e.value)
    assert "did you mean report_dir?" in str(e.value)


def test_an_unknown_bascule_variable_is_warned_about(monkeypatch, caplog):
    monkeypatch.setenv("BASCULE_GRUOPS", "12")
    monkeypatch.setenv("BASCULE_TEST_WHATEVER", "1")  # the test suite's own
    monkeypatch.setenv("BASCULE_PIPELINE", "1")  # read by the code, not a setting
    with caplog.at_level("WARNING", logger="bascule.config.settings"):
        s = load_settings(None)
    assert s.groups == []
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["environment variable BASCULE_GRUOPS is not a bascule setting: ignored "
                     "(did you mean BASCULE_GROUPS?)"]


def test_every_setting_has_its_flag_or_the_readme_says_it_has_none():
    """The README's settings table has a flag column: each flag it names exists on the verbs it
    names, and a setting without one says so."""
    from bascule.cli import cli

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n\n", 2)[1]
    rows_ = [[c.strip() for c in line.strip("|").split("|")]
             for line in table.splitlines()[2:] if line.startswith("| `")]
    assert {r[0].strip("`") for r in rows_} == set(Settings.model_fields)
    for r in rows_:
        flag = r[2]
        if flag == "–":
            continue
        opt, _, verbs = flag.partition(" on ")
        opt = opt.strip("`").split()[0]
        for verb in [v.strip() for v in verbs.replace(" and ", ", ").split(",") if v.strip()]:
            params = {o for p in cli.get_command(None, verb).params for o in p.opts}
            assert opt in params, (r[0], opt, verb)
