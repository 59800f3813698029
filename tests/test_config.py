"""envq.toml: a table or key envq does not read is refused with the valid ones (issue 12, first
contact: a misspelled [map] was ignored silently)."""

import pytest

from envq.config import load_config
from envq.errors import InputError


@pytest.mark.parametrize("toml, field, says", [
    ('[map]\ntiles = "osm"\n', "map", "is not a table envq reads; use [geo], [sources], [schedule], [store], "
                                      "[maps], [reports], [warnings], [[alerts]]"),
    ('[maps]\ntile = "osm"\n', "maps.tile", "is not a setting of [maps]; use tiles, tianditu_key"),
    ('[geo]\nbasin = "b.gpkg"\n', "geo.basin", "is not a setting of [geo]; use basins, basins_layer"),
    ('[schedule]\ncorn = "0 2 * * *"\n', "schedule.corn", "is not a setting of [schedule]; use cron, timezone"),
    ('[sources.watre]\nkind = "local"\n', "[sources.watre]", "is not a setting of [sources]; use air, water"),
    ('[store]\nroot = "/srv/envq"\n', "store.root", "is not a setting of [store]; use wait_minutes"),
])
def test_unknown_tables_and_keys_are_refused(tmp_path, toml, field, says):
    conf = tmp_path / "envq.toml"
    conf.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError, match=says.replace("[", r"\[").replace("]", r"\]")) as info:
        load_config(conf)
    assert info.value.field == field and info.value.file == str(conf)


def test_every_known_setting_is_accepted(tmp_path):
    conf = tmp_path / "envq.toml"
    conf.write_text('[geo]\nbasins = "b.gpkg"\nbasins_layer = "l"\nbasins_field = "name"\n[geo.system_to_basin]\n'
                    '"湘江" = "湘江流域"\n[sources.air]\nkind = "local"\npath = "a"\n[sources.water]\nkind = "local"\n'
                    'path = "w"\n[schedule]\ncron = "0 2 * * *"\ntimezone = "Asia/Shanghai"\n[store]\nwait_minutes = 30\n[maps]\ntiles = "none"\n'
                    'output = "maps"\n[warnings]\nmargin = 0.1\n[[alerts]]\nkind = "webhook"\n', encoding="utf-8")
    assert set(load_config(conf)) == {"geo", "sources", "schedule", "store", "maps", "warnings", "alerts"}
