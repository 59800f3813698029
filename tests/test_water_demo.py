"""The demo hook: July and August 2026 Class III compliance per system and for the province."""

import pandas as pd

from envq.water import demo


def test_demo_writes_tables_and_returns_a_summary(tmp_path):
    text = demo.run(tmp_path)
    rates = pd.read_csv(tmp_path / "water_2026_rates.csv")
    prov = rates[rates["group"] == "province"].set_index("period")
    assert set(prov.index) == {"2026-07", "2026-08"}
    assert (prov["sections"] == 61).all()
    # July: 58 of 61 sections in Class I-III; August: 59 of 61
    assert prov.loc["2026-07", "class_1"] + prov.loc["2026-07", "class_2"] + prov.loc["2026-07", "class_3"] == 58
    assert prov.loc["2026-08", "i_iii_share"] == round(100 * 59 / 61, 2)
    systems = rates[rates["group"] == "system"]
    assert set(systems["name"]) == {"湘江", "资水", "沅江", "澧水", "洞庭湖", "长江干流/荆江三口", "unknown"}
    assert systems.groupby("period")["sections"].sum().tolist() == [61, 61]
    sections = pd.read_csv(tmp_path / "water_2026_sections.csv")
    assert len(sections) == 122
    assert (tmp_path / "water_2026_dongting_lake.csv").exists()
    assert "湖南省" in text and "96.7" in text and "95.1" in text


def test_demo_prints_shares_as_published(tmp_path, monkeypatch):
    """The demo prints each Ⅰ~Ⅲ share as every other output does (envq.targets.published: one
    decimal, GB/T 8170): 23 of 80 is 28.749999... in binary, published 28.8, not Python's 28.7."""
    import envq.water.groups as groups

    real = groups.group_rates

    def tie(sec, *args, **kwargs):
        out = real(sec, *args, **kwargs)
        out["i_iii_share"] = 23 / 80 * 100
        return out

    monkeypatch.setattr(groups, "group_rates", tie)
    text = demo.run(tmp_path)
    assert "Province: July 28.8% (" in text and "August 28.8% (" in text, text
    assert "28.7" not in text
